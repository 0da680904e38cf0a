"""cxgov project package: settings from the environment, root URLs, the Celery app, WSGI/ASGI.

Nothing domain-specific lives here; the apps are ``charter`` → ``missions`` → ``feedback`` → ``reports``.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
