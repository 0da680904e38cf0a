"""Project-level views: the home redirect and the health check."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands where its work is: a finance partner on the validation queue."""
    user = request.user
    try:
        if user.is_finance and not (user.is_cx_leader or user.is_executive or user.is_superuser):
            return redirect(reverse("reports:validation-queue"))
        return redirect(reverse("reports:dashboard"))
    except NoReverseMatch:
        return render(request, "home.html")


def _broker_status() -> str:
    """Probe the broker with a plain TCP connect: fast, and never hangs the check."""
    if not settings.REDIS_URL:
        return "inline"
    url = urlparse(settings.REDIS_URL)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return "ok" if sock.recv(16).startswith(b"+PONG") else "error"
    except OSError:
        return "down"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; a down broker is reported, not fatal (intake still accepts)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "down"
    broker = _broker_status()
    status = 200 if database == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "error", "database": database, "broker": broker}, status=status
    )
