"""Request plumbing for operators: request ids, and a database outage that answers 503.

``RequestIdMiddleware`` gives every request an id (the caller's ``X-Request-ID`` when it is a
sane token, else a fresh one), hands it to django-structlog (which binds it to every log line
of the request) and returns it in the ``X-Request-ID`` response header, so a user's error
report or a vendor's failed delivery can be matched with our logs.

``DatabaseUnavailableMiddleware`` turns a lost database (PostgreSQL restarting, failover, a
full connection pool) into ``503 Service Unavailable`` with ``Retry-After``. Survey vendors
retry 5xx deliveries, so nothing is lost; a bare 500 would page someone for a known, transient
state and tell the vendor nothing about when to come back. It catches the error wherever it was
raised (view or another middleware), because Django reports every uncaught exception through
the ``got_request_exception`` signal before it builds the 500.

Both go first in ``MIDDLEWARE`` (outermost): see docs/operations.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django_structlog.signals import bind_extra_request_metadata

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
RETRY_AFTER_SECONDS = 30
_OUTAGE_FLAG = "_cxgov_database_unavailable"


def request_id_for(request: HttpRequest) -> str:
    """The caller's id when it is a plain token (never echo arbitrary header text), else new."""
    given = request.META.get("HTTP_X_REQUEST_ID", "")  # not request.headers: it would cache
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
        request.META["HTTP_X_REQUEST_ID"] = request_id  # django-structlog reads it from here
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _bind_our_request_id(sender: Any, request: HttpRequest, **_kwargs: Any) -> None:
    """django-structlog makes up its own id unless told to trust upstream; ours wins, so the
    header a caller sees is the id on every log line of the request. The client ip (first
    X-Forwarded-For hop, else the peer) and user agent go on every line too."""
    request_id = getattr(request, "request_id", None)
    meta = request.META
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    ip = forwarded.split(",", 1)[0].strip() if forwarded else meta.get("REMOTE_ADDR", "")
    extra = {"ip": ip[:64], "user_agent": meta.get("HTTP_USER_AGENT", "")[:256]}
    if request_id:
        extra["request_id"] = request_id
    structlog.contextvars.bind_contextvars(**extra)


bind_extra_request_metadata.connect(_bind_our_request_id, dispatch_uid="cxgov.middleware.request_id")


def _is_outage(exc: BaseException | None) -> bool:
    """Connection-level failures only: a constraint violation is a bug, not an outage."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    # psycopg2 reports a server gone mid-query as a DatabaseError with a closed connection
    return isinstance(exc, DatabaseError) and "server closed the connection" in str(exc)


def _remember_outage(sender: Any, request: HttpRequest | None = None, **_kwargs: Any) -> None:
    import sys

    if request is not None and _is_outage(sys.exc_info()[1]):
        setattr(request, _OUTAGE_FLAG, True)


got_request_exception.connect(_remember_outage, dispatch_uid="cxgov.middleware.outage")


def outage_response(request: HttpRequest) -> HttpResponse:
    """A 503 that needs nothing from the database (no session, no templates with context)."""
    message = "The service is briefly unavailable; please retry shortly."
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        except Exception as exc:  # only reached when this middleware is not wrapped by Django
            if _is_outage(exc):
                return outage_response(request)
            raise
        if getattr(request, _OUTAGE_FLAG, False):
            return outage_response(request)
        if response.status_code == 503 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)  # e.g. /healthz with the database down
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return outage_response(request) if _is_outage(exception) else None


class NoStoreForSignedInMiddleware:
    """Every reply to a signed-in user (session or API token) says ``Cache-Control: no-store``:
    pages carry customers' personal data, and a shared or browser cache must not keep them
    for the next person at that computer. Replies to anonymous visitors are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
