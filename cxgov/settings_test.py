"""Test settings: real PostgreSQL and Redis (the suite's promise), fast hashing, tasks inline.

Tests that are about the queue start a real worker and switch ``task_always_eager`` off.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxgov")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_DEBUG", "0")
# Each pytest-xdist worker has its own test database, so its Celery workers need their own queue.
_xdist = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist:
    os.environ["CELERY_QUEUE"] = f"{os.environ.get('CELERY_QUEUE', 'cxgov_test')}_{_xdist}"
os.environ.setdefault("CELERY_QUEUE", "cxgov_test")

from .settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The real-worker tests (tests/worker/) start `celery worker` with CXGOV_TEST_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CXGOV_TEST_EAGER", "1") == "1"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
AXES_ENABLED = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if os.environ.get("CXGOV_TEST_EMAIL_URL"):  # the worker tests' local SMTP server
    vars().update(env.email_url("CXGOV_TEST_EMAIL_URL"))  # noqa: F405
# Off: every test client is 127.0.0.1; tests/security/test_probe_findings.py turns it on per test.
CXGOV_INTAKE_REFUSALS_PER_ADDRESS = 0
# A fresh django-ratelimit namespace per test process: the throttles count from zero each run.
RATELIMIT_CACHE_PREFIX = f"rl:{os.getpid()}:{os.urandom(4).hex()}:"
