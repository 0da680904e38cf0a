"""Settings, read from the environment only (12-factor).

With no environment set the app runs on an embedded default: an SQLite file under ``var/``,
Celery tasks executed inline after commit, e-mail to the console, DEBUG on and a generated
development secret key. Setting ``DATABASE_URL`` and ``REDIS_URL`` switches to real mode
(PostgreSQL, Redis broker and cache, real workers) with no code change.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not DATABASE_URL

DEBUG = env.bool("DJANGO_DEBUG", default=EMBEDDED)


def _dev_secret_key() -> str:
    """A per-checkout key for the embedded default, so sessions survive restarts."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _dev_secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_celery_beat",
    "simple_history",
    "axes",
    "charter",
    "missions",
    "feedback",
    "reports",
]

MIDDLEWARE = [
    "cxgov.middleware.RequestIdMiddleware",
    "cxgov.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cxgov.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cxgov.urls"
WSGI_APPLICATION = "cxgov.wsgi.application"
ASGI_APPLICATION = "cxgov.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "charter.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "cxgov.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
else:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"].setdefault("OPTIONS", {})
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ------------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes every database connection before and after each task unless
# this is set: a new PostgreSQL backend per task (~5 ms of CPU on each side, more than a whole
# empty pipeline task). Workers keep their connection like web workers do instead:
# ``cxgov.celery`` checks it before each task (CONN_MAX_AGE, health check, errors), and the
# fixup still recycles it after this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="cxgov")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "charter.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "charter.auth.EmailOrUsernameBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# One spelling of a login (charter/auth.py): case, spaces and e-mail-for-username share a count.
AXES_USERNAME_CALLABLE = "charter.auth.axes_username"
# The same client address as the intake refusal limit (behind CXGOV_TRUSTED_PROXY_COUNT proxies).
AXES_CLIENT_IP_CALLABLE = "cxgov.clientip.client_address"
# Password-reset e-mails (charter/auth.py, django-ratelimit "N/period" rates): per e-mail address
# and per client address.
CXGOV_PASSWORD_RESET_PER_ADDRESS = env.str("CXGOV_PASSWORD_RESET_PER_ADDRESS", default="3/h")
CXGOV_PASSWORD_RESET_PER_CLIENT = env.str("CXGOV_PASSWORD_RESET_PER_CLIENT", default="10/h")
RATELIMIT_USE_CACHE = "default"
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_AGE", default=60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False

# --- Security -----------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],  # server-rendered SVG charts carry style attributes
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # webhook bodies over 1 MB are refused (413)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- I18N, static -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail -------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cxgov <cxgov@localhost>")
EMAIL_TIMEOUT = 10

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cxgov.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cxgov API",
    "DESCRIPTION": "Voice-of-the-Customer intake, action items, metrics and governance documents.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The API's map is for signed-in users and tokens unless the operator opens it.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"]
    if env.bool("CXGOV_PUBLIC_API_DOCS", default=False)
    else ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cxgov.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ProgramKindEnum": "feedback.models.Program.Kind",
        "SourceKindEnum": "feedback.models.Source.Kind",
        "SuccessMeasureKindEnum": "missions.models.SuccessMeasure.Kind",
        "MissionMomentKindEnum": "missions.models.MissionMoment.Kind",
    },
}

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "cxgov.logging.KeyValueFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs every layout step at INFO (~70 lines a 20-page report); its warnings
        # about the document (``weasyprint``: CSS it ignored, a resource refused) still show.
        "weasyprint.progress": {"level": "WARNING"},
    },
}
DJANGO_STRUCTLOG_CELERY_ENABLED = False
# One line per request (``request_finished``: method, path, code, request_id, ip, user_agent);
# ``request_started`` only at DEBUG. The ip and user agent are bound by our RequestIdMiddleware's
# signal handler (cheaper than django-ipware; this ip is only logged, axes has its own).
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False

# --- Product ------------------------------------------------------------------------------
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="cxgov-demo")
CXGOV_INTAKE_RATE_PER_MINUTE = env.int("CXGOV_INTAKE_RATE_PER_MINUTE", default=600)
# Refused deliveries (feedback/refusals.py): per client address a minute before it is answered
# 429 and nothing is stored; per source a minute that are stored; body bytes kept; days kept.
CXGOV_INTAKE_REFUSALS_PER_ADDRESS = env.int("CXGOV_INTAKE_REFUSALS_PER_ADDRESS", default=30)
CXGOV_INTAKE_REFUSALS_KEPT_PER_MINUTE = env.int("CXGOV_INTAKE_REFUSALS_KEPT_PER_MINUTE", default=60)
CXGOV_REFUSED_BODY_BYTES = env.int("CXGOV_REFUSED_BODY_BYTES", default=2048)
CXGOV_REFUSED_KEEP_DAYS = env.int("CXGOV_REFUSED_KEEP_DAYS", default=14)
# How many proxies in front of the app append to X-Forwarded-For (docs/operations.md): the client
# address used by the login lockout and the intake refusal limit is that many entries from the
# right. 0 = no proxy, the peer address.
CXGOV_TRUSTED_PROXY_COUNT = env.int("CXGOV_TRUSTED_PROXY_COUNT", default=0)
CXGOV_OUTBOX_STALE_SECONDS = env.int("CXGOV_OUTBOX_STALE_SECONDS", default=60)
# Processed outbox events are deleted after this many days (beat, nightly): one row per response
# otherwise stays for ever.
CXGOV_OUTBOX_KEEP_DAYS = env.int("CXGOV_OUTBOX_KEEP_DAYS", default=7)
# How long a busy web process's relay thread waits for more committed events before it
# publishes (cxgov/relay.py): one publish per batch instead of one per request. An event
# after a quiet spell is published at once.
CXGOV_RELAY_LINGER_MS = env.int("CXGOV_RELAY_LINGER_MS", default=100)
# /api/schema/, /api/docs/ and /api/redoc/ answer anonymous visitors only when this is 1.
CXGOV_PUBLIC_API_DOCS = env.bool("CXGOV_PUBLIC_API_DOCS", default=False)
# Absolute links in notifications and in `create_source` output (e.g. https://cx.example.com).
CXGOV_BASE_URL = env.str("CXGOV_BASE_URL", default="")
