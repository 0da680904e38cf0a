"""The WSGI application: webhook deliveries take a lean path, everything else the full stack.

A delivery to ``POST /api/v1/intake/<slug>/`` is authenticated by its source (token or vendor
signature), never by a session, so the browser middleware (sessions, CSRF, auth, messages,
static files, htmx, history, login lockouts) only cost it CPU: ~0.7 ms of ~4 ms a delivery,
and the URL resolver walked every app's patterns to find it. ``IntakeWSGIHandler`` is Django's
own handler (same request object, signals, database connection handling and exception-to-
response conversion) with ``settings.INTAKE_MIDDLEWARE`` (request id, the 503 on a database
outage, host validation, security headers, the request log line) and the intake view resolved
directly. Every other path, and any method but POST and HEAD, goes through the full stack.
"""

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxgov.settings")

site_application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after setup)
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import ResolverMatch  # noqa: E402

# ``api/v1/intake/<slug:slug>/`` in feedback/api_urls_intake.py (slug: Django's converter).
INTAKE_PATH = re.compile(r"^/api/v1/intake/(?P<slug>[-a-zA-Z0-9_]+)/$")
INTAKE_METHODS = frozenset({"POST", "HEAD"})


class IntakeWSGIHandler(WSGIHandler):
    """Django's WSGI handler with ``settings.INTAKE_MIDDLEWARE``, serving the intake URL only."""

    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.INTAKE_MIDDLEWARE  # load_middleware reads this setting
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        from feedback.api_intake import intake_view

        match = INTAKE_PATH.match(request.path_info)
        if match is None:  # only routed here when it matched; a bug otherwise
            raise RuntimeError(f"not an intake path: {request.path_info!r}")
        resolver_match = ResolverMatch(
            intake_view, (), {"slug": match["slug"]}, url_name="intake", route="api/v1/intake/<slug:slug>/"
        )
        request.resolver_match = resolver_match
        return resolver_match


intake_application = IntakeWSGIHandler()

StartResponse = Callable[..., Any]


def handler_for(environ: dict[str, Any]) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The lean intake handler for a delivery, the full site for anything else."""
    if environ.get("REQUEST_METHOD") in INTAKE_METHODS and INTAKE_PATH.match(environ.get("PATH_INFO", "")):
        return intake_application
    return site_application


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes] | HttpResponse:
    return handler_for(environ)(environ, start_response)
