"""Where a worker may fetch a response's details from: each vendor's documented API hosts only.

A source's ``api_credentials["base_url"]`` decides where the worker connects (with the
vendor's token attached), so an unchecked one is a server-side request forgery: a CX leader,
or anyone who can set it, could make the worker call ``http://169.254.169.254/`` or an internal
service. The base URL must therefore be HTTPS on a host the vendor documents
(``VENDOR_HOSTS``), every address that host resolves to must be public, and a redirect is
followed only to a URL that passes the same check.

Documented hosts: Qualtrics ``https://{datacenter}.qualtrics.com`` (the data-center id, e.g.
``fra1``, or a brand subdomain such as ``acme.eu.qualtrics.com``); SurveyMonkey
``https://api.surveymonkey.com``, its EU data center ``https://api.eu.surveymonkey.com`` and
Canada ``https://api.surveymonkey.ca``.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
import urllib.request
from typing import Any

from django.core.exceptions import ValidationError

#: kind -> (exact hosts, host suffixes)
VENDOR_HOSTS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "qualtrics": (frozenset(), (".qualtrics.com",)),
    "surveymonkey": (
        frozenset({"api.surveymonkey.com", "api.eu.surveymonkey.com", "api.surveymonkey.ca"}),
        (),
    ),
}


class UnsafeVendorUrl(ValueError):
    """A URL the worker must not fetch."""


def _host_allowed(kind: str, host: str) -> bool:
    exact, suffixes = VENDOR_HOSTS.get(kind, (frozenset(), ()))
    return host in exact or any(host.endswith(s) and len(host) > len(s) for s in suffixes)


def vendor_url_check(url: str, *, kind: str, resolve: bool = True) -> str:
    """``url`` if the worker may fetch it for a source of ``kind``; ``UnsafeVendorUrl`` otherwise.

    ``resolve``: also check that every address the host resolves to is public (at fetch time;
    a host the vendor documents should never resolve to a private range)."""
    parsed = urllib.parse.urlsplit(url)
    host = (parsed.hostname or "").lower().rstrip(".")
    if parsed.scheme != "https":
        raise UnsafeVendorUrl("Use an https:// URL.")
    if parsed.username is not None or parsed.password is not None:
        raise UnsafeVendorUrl("A URL with a user name or password is not allowed.")
    try:
        port = parsed.port
    except ValueError:
        raise UnsafeVendorUrl("The port is not a number.") from None
    if port not in (None, 443):
        raise UnsafeVendorUrl("Use the vendor's standard HTTPS port.")
    if not _host_allowed(kind, host):
        exact, suffixes = VENDOR_HOSTS.get(kind, (frozenset(), ()))
        allowed = ", ".join([*sorted(exact), *(f"*{s}" for s in suffixes)]) or "none"
        raise UnsafeVendorUrl(f"{host or 'no host'} is not a documented {kind} API host ({allowed}).")
    if resolve:
        try:
            infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise UnsafeVendorUrl(f"{host} does not resolve ({exc}).") from None
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if not address.is_global:
                raise UnsafeVendorUrl(f"{host} resolves to a private address ({address}).")
    return url


def base_url_validate(*, kind: str, credentials: Any) -> None:
    """Field error (``api_credentials``) for a base URL outside the vendor's documented hosts."""
    if not isinstance(credentials, dict) or not credentials.get("base_url"):
        return
    if kind not in VENDOR_HOSTS:
        raise ValidationError({"api_credentials": [f"A {kind} source fetches nothing; remove base_url."]})
    try:
        vendor_url_check(str(credentials["base_url"]), kind=kind, resolve=False)
    except UnsafeVendorUrl as exc:
        raise ValidationError({"api_credentials": [f"base_url: {exc}"]}) from None


class CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL that passes ``vendor_url_check`` for the same vendor."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        vendor_url_check(urllib.parse.urljoin(req.full_url, newurl), kind=self.kind)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def vendor_opener(kind: str) -> urllib.request.OpenerDirector:
    """A urllib opener whose redirects are checked (no proxies from the environment either)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), CheckedRedirects(kind))
