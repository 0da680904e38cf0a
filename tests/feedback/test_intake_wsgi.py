"""The WSGI entry point (``cxgov.wsgi``): deliveries take the lean intake stack, all else the site.

Called as gunicorn calls it (a WSGI environ, ``start_response``), not through Django's test
client, which always runs the full ``MIDDLEWARE``.
"""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import psycopg2
import pytest
from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, OperationalError, close_old_connections, connections
from django.urls import resolve

from cxgov import wsgi
from feedback.api_intake import intake_view
from feedback.models import RawDelivery, Response
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def call(method: str, path: str, body: bytes = b"", *, host: str = "testserver", **headers: str) -> Any:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "CONTENT_TYPE": headers.pop("content_type", "application/json"),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    reply: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        reply["status"] = int(status.split()[0])
        reply["headers"] = dict(response_headers)
        reply["cookies"] = [v for k, v in response_headers if k.lower() == "set-cookie"]

    # As Django's test client does: the request signals would close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = wsgi.application(environ, start_response)
        reply["body"] = b"".join(chunks)
        chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return reply


@pytest.fixture
def source():  # type: ignore[no-untyped-def]
    return SourceFactory(slug="lean")


def post(source, body: dict, **kw: Any) -> Any:  # type: ignore[no-untyped-def]
    path = f"/api/v1/intake/{source.slug}/"
    return call("POST", path, json.dumps(body).encode(), authorization=f"Bearer {source.token}", **kw)


def test_a_delivery_goes_through_the_intake_stack_and_is_stored(source):
    routed = wsgi.handler_for({"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/intake/lean/"})
    assert routed is wsgi.intake_application
    reply = post(source, {"external_id": "w-1", "scores": {"nps": 10}}, x_request_id="vendor-retry-0001")
    assert reply["status"] == 201
    body = json.loads(reply["body"])
    assert body["status"] == "created"
    assert Response.objects.get(id=body["id"]).external_id == "w-1"
    assert RawDelivery.objects.get(id=body["delivery"]).response_id == body["id"]
    headers = reply["headers"]
    assert headers["X-Request-ID"] == "vendor-retry-0001"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert reply["cookies"] == []  # no session, no CSRF cookie on a webhook


def test_the_intake_stack_runs_no_browser_middleware(source, monkeypatch):
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.middleware.csrf import CsrfViewMiddleware

    ran: list[str] = []
    for cls in (SessionMiddleware, CsrfViewMiddleware):
        original = cls.process_request

        def spy(self, request, _original=original, _name=cls.__name__):  # type: ignore[no-untyped-def]
            ran.append(_name)
            return _original(self, request)

        monkeypatch.setattr(cls, "process_request", spy)
    assert post(source, {"external_id": "w-5", "scores": {"nps": 9}})["status"] == 201
    assert ran == []
    assert call("GET", "/api/v1/intake/lean/")["status"] == 405  # the site stack, for contrast
    assert ran == ["SessionMiddleware", "CsrfViewMiddleware"]


@pytest.mark.parametrize(
    ("method", "path", "lean"),
    [
        ("POST", "/api/v1/intake/lean/", True),
        ("HEAD", "/api/v1/intake/lean/", True),
        ("GET", "/api/v1/intake/lean/", False),  # the view's 405 comes from the site stack
        ("POST", "/api/v1/intake/lean", False),  # no slash: the site's own handling
        ("POST", "/api/v1/intake/a/b/", False),
        ("POST", "/api/v1/sources/", False),
        ("POST", "/api/v1/intake/bad slug/", False),
    ],
)
def test_only_deliveries_take_the_lean_path(method, path, lean):
    handler = wsgi.handler_for({"REQUEST_METHOD": method, "PATH_INFO": path})
    assert (handler is wsgi.intake_application) is lean
    if lean:  # the lean route must be the URLconf's own intake URL
        assert resolve(path).func is intake_view


def test_the_same_replies_as_the_site_for_bad_deliveries(source):
    wrong = call("POST", "/api/v1/intake/lean/", b'{"external_id": "x"}', authorization="Bearer nope")
    assert wrong["status"] == 401
    assert json.loads(wrong["body"])["errors"]["non_field_errors"]
    unknown = call("POST", "/api/v1/intake/nosuch/", b"{}")
    assert unknown["status"] == 404
    bad = post(source, {"external_id": "w-2", "scores": {"nps": 11}})
    assert bad["status"] == 400
    assert "scores.nps" in json.loads(bad["body"])["errors"]
    assert call("HEAD", "/api/v1/intake/lean/")["status"] == 200
    assert call("GET", "/api/v1/intake/lean/")["status"] == 405
    assert not Response.objects.filter(external_id="w-2").exists()


def test_a_host_outside_allowed_hosts_is_refused_and_nothing_is_stored(source):
    reply = post(source, {"external_id": "w-3", "scores": {"nps": 9}}, host="evil.example")
    assert reply["status"] == 400
    assert not Response.objects.filter(external_id="w-3").exists()


def test_a_database_outage_answers_503_with_retry_after(source, monkeypatch):
    def down(**_kwargs: Any) -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("feedback.api_intake.source_for_intake", down)
    reply = post(source, {"external_id": "w-4", "scores": {"nps": 9}})
    assert reply["status"] == 503
    assert reply["headers"]["Retry-After"]
    assert json.loads(reply["body"])["detail"]


@pytest.fixture
def open_connection(transactional_db, monkeypatch):  # type: ignore[no-untyped-def]
    """The default connection open outside any transaction, health checks on, as a gunicorn
    thread's is between two deliveries (``CONN_MAX_AGE``, ``CONN_HEALTH_CHECKS``)."""
    conn = connections[DEFAULT_DB_ALIAS]
    conn.ensure_connection()
    monkeypatch.setattr(conn, "health_check_enabled", True)
    conn.health_check_done = False  # what request_started (close_old_connections) leaves
    return conn


def test_a_delivery_sends_no_health_check_before_its_first_statement(open_connection, monkeypatch):
    source = SourceFactory(slug="lean")
    checks: list[bool] = []
    real_check = open_connection.is_usable

    def counted() -> bool:
        checks.append(True)
        return real_check()

    monkeypatch.setattr(open_connection, "is_usable", counted)
    open_connection.health_check_done = False
    reply = post(source, {"external_id": "w-6", "scores": {"nps": 9}})
    assert reply["status"] == 201
    assert checks == []  # the source lookup is the check: no SELECT 1 round trip
    assert Response.objects.filter(external_id="w-6").exists()


def test_a_delivery_on_a_connection_the_server_dropped_reconnects_and_is_stored(open_connection):
    source = SourceFactory(slug="lean")
    with open_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with psycopg2.connect(**open_connection.get_connection_params()) as other, other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # the backend exits asynchronously
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.02)
    open_connection.health_check_done = False
    reply = post(source, {"external_id": "w-7", "scores": {"nps": 9}})
    assert reply["status"] == 201, reply["body"]
    assert Response.objects.filter(external_id="w-7", source=source).exists()
    with open_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if record.name == "django_structlog.middlewares.request" and isinstance(record.msg, dict):
            lines.append({k: v for k, v in record.msg.items() if k != "timestamp"})
    caplog.clear()
    return lines


@pytest.mark.parametrize(
    ("start_level", "started_lines"),
    [(logging.DEBUG, 0), (logging.INFO, 3)],  # production's setting, then request_started on
)
def test_the_lean_request_line_is_the_one_django_structlog_writes(
    source, caplog, monkeypatch, settings, start_level, started_lines
):  # type: ignore[no-untyped-def]
    """Same event, logger, level and fields as django-structlog's middleware in the same stack,
    for a stored delivery (201), a refused one (401) and an unknown source (404)."""
    caplog.set_level(logging.INFO)  # production's level (the test settings log warnings only)
    settings.DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = start_level
    theirs = [
        "django_structlog.middlewares.RequestMiddleware" if m.endswith("RequestLogMiddleware") else m
        for m in settings.INTAKE_MIDDLEWARE
    ]
    assert theirs != settings.INTAKE_MIDDLEWARE
    handlers = {}
    for name, stack in (("ours", settings.INTAKE_MIDDLEWARE), ("theirs", theirs)):
        settings.INTAKE_MIDDLEWARE = stack
        handlers[name] = wsgi.IntakeWSGIHandler()
    seen: dict[str, list[dict[str, Any]]] = {}
    for name, handler in handlers.items():
        monkeypatch.setattr(wsgi, "intake_application", handler)
        body = {"external_id": f"log-{name}", "scores": {"nps": 9}}
        assert post(source, body, x_request_id="req-0001-abcd", user_agent="Vendor/1.0")["status"] == 201
        call("POST", "/api/v1/intake/lean/", b"{}", authorization="Bearer nope", x_request_id="req-0002-abcd")
        call("POST", "/api/v1/intake/nosuch/", b"{}", x_request_id="req-0003-abcd")
        seen[name] = _request_lines(caplog)
    assert seen["ours"] == seen["theirs"]
    finished = [line for line in seen["ours"] if line["event"] == "request_finished"]
    assert [(line["code"], line["level"], line["request_id"]) for line in finished] == [
        (201, "info", "req-0001-abcd"),
        (401, "warning", "req-0002-abcd"),
        (404, "warning", "req-0003-abcd"),
    ]
    assert finished[0]["request"] == "POST /api/v1/intake/lean/"
    assert finished[0]["user_agent"] == "Vendor/1.0" and finished[0]["ip"] == "127.0.0.1"
    started = [line for line in seen["ours"] if line["event"] == "request_started"]
    assert len(started) == started_lines
