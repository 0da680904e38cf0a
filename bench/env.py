"""Where a benchmark run lives: its own database, Redis db and Celery queue.

``configure`` sets the environment before Django is imported, so the runner, gunicorn, the
Celery worker and every child process agree on the same settings without editing any file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def database_name(*, quick: bool) -> str:
    return "cxgov_bench_quick" if quick else "cxgov_bench"


def configure(*, quick: bool) -> dict[str, str]:
    """Point this process (and children, which inherit the environment) at the bench stores."""
    values = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"{PG_SERVER}/{database_name(quick=quick)}"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        "CELERY_QUEUE": "cxgov_bench_quick" if quick else "cxgov_bench",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdef0123456789abcdef",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        # Intake's per-source limit (600/min by default) would turn a load test into a 429 test.
        "CXGOV_INTAKE_RATE_PER_MINUTE": "100000000",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        "PYTHONPATH": str(ROOT),
        "MEDIA_ROOT": str(ROOT / "var" / "bench" / "media"),
    }
    os.environ.update(values)
    return values


def configure_profile(*, prefix: str, quick: bool) -> None:
    """``configure`` for an in-process profile (``bench/intake_profile.py``, ``pipeline_profile.py``):
    ``<prefix>_DATABASE_URL`` and ``<prefix>_REDIS_URL`` override the bench stores, and its
    events go to a queue of its own (``<prefix>_QUEUE``, default ``cxgov_<prefix>``, lower case)."""
    configure(quick=quick)
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ[name] = os.environ.get(f"{prefix}_{name}", os.environ[name])
    os.environ["CELERY_QUEUE"] = os.environ.get(f"{prefix}_QUEUE", f"cxgov_{prefix.lower()}")
