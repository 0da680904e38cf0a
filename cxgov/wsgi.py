"""The WSGI application: Django's standard handler, the full ``settings.MIDDLEWARE`` on every
request (webhook deliveries included; ADR 0009 says why the lean intake handler went)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxgov.settings")

application = get_wsgi_application()
