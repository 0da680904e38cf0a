"""The client's address, as the TLS proxy in front of the app saw it (docs/operations.md)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """Behind ``CXGOV_TRUSTED_PROXY_COUNT`` proxies each appends the address it saw to
    ``X-Forwarded-For``, so the client is that many entries from the right; anything further
    left was written by the client and is not trusted. With no proxy (0) it is the peer.

    The login lockout (``AXES_CLIENT_IP_CALLABLE``) and the intake refusal limit both use it."""
    hops = settings.CXGOV_TRUSTED_PROXY_COUNT
    peer = str(request.META.get("REMOTE_ADDR", ""))
    if hops <= 0:
        return peer
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [part for part in forwarded if part]
    return forwarded[-hops] if len(forwarded) >= hops else peer
