"""Servers a figure needs, started as real processes: gunicorn (2 workers) and a Celery worker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.env import ROOT, VENV_BIN

LOG_DIR = ROOT / "var" / "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin(name: str) -> str:
    path = VENV_BIN / name
    return str(path) if path.exists() else name


class Managed:
    """A child process in its own process group, stopped (group-wide) on ``stop``."""

    def __init__(self, args: list[str], log_name: str) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path: Path = LOG_DIR / log_name
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Gunicorn(Managed):
    def __init__(self, *, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [
                _bin("gunicorn"),
                "--config",
                str(ROOT / "cxgov" / "gunicorn.conf.py"),  # production's worker class and threads
                "cxgov.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
            ],
            "gunicorn.log",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"gunicorn exited: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"gunicorn did not answer /healthz: {self.tail()}")
        # Each worker imports lazily: warm both up before anyone measures.
        for _ in range(20):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.url}/healthz", timeout=5).read()  # noqa: S310


class CeleryWorker(Managed):
    def __init__(self, *, queue: str, concurrency: int = 2) -> None:
        super().__init__(
            [
                _bin("celery"),
                "-A",
                "cxgov",
                "worker",
                "-Q",
                queue,
                "-I",
                "bench.tasks",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-{os.getpid()}@%h",
            ],
            "celery.log",
        )
