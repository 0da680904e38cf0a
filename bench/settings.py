"""Settings for benchmark runs: production settings, minus what a laptop cannot provide.

Only what would otherwise fail outside a real deployment changes: plain static storage
(no ``collectstatic`` manifest needed), no HTTPS redirect or secure-only cookies (the load
generator talks plain HTTP to 127.0.0.1). Everything on the hot paths is as in production.
"""

from cxgov.settings import *  # noqa: F403

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
