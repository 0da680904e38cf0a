"""A webhook delivery goes through the whole ``settings.MIDDLEWARE`` (issue 25): a middleware an
operator adds to settings runs on a real delivery, through the WSGI application gunicorn serves."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse

from feedback.models import Response
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the handler closes connections per request

SEEN: list[str] = []


class MarkMiddleware:
    """Stands for any middleware an operator adds (an audit header, a tracing span)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        SEEN.append(request.path)
        response = self.get_response(request)
        response["X-Marked"] = "yes"
        return response


def _post(app: Callable[..., Any], *, path: str, body: bytes, token: str) -> tuple[str, dict[str, str]]:
    replies: list[tuple[str, list[tuple[str, str]]]] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    chunks = app(environ, lambda status, headers, *_: replies.append((status, headers)))
    b"".join(chunks)
    status, headers = replies[0]
    return status, dict(headers)


def test_the_wsgi_application_is_djangos_standard_handler():
    from cxgov import wsgi

    assert type(wsgi.application) is WSGIHandler


def test_a_middleware_added_to_settings_runs_on_an_intake_delivery(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.feedback.test_intake_middleware.MarkMiddleware"]
    SEEN.clear()
    source = SourceFactory(slug="marked")
    from cxgov import wsgi

    importlib.reload(wsgi)  # the application gunicorn serves, built with the changed settings
    body = json.dumps({"external_id": "m-1", "scores": {"nps": 9}}).encode()
    try:
        status, headers = _post(
            wsgi.application, path="/api/v1/intake/marked/", body=body, token=source.token
        )
    finally:
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("MarkMiddleware")]
        importlib.reload(wsgi)
    assert status.startswith("201"), status
    assert headers.get("X-Marked") == "yes"
    assert SEEN == ["/api/v1/intake/marked/"]
    assert Response.objects.filter(source=source, external_id="m-1").exists()
