"""The one way the app turns HTML into a PDF (Charter one-pager, ROI report).

WeasyPrint would happily fetch ``file://`` paths and arbitrary URLs named in the HTML; a
document that carries user text must not be able to read the server's files or reach the
network. The fetcher here serves only the app's own static files (found through the
staticfiles finders, exactly what ``{% static %}`` names) and ``data:`` URIs; everything
else is refused, and the PDF simply renders without that resource.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders

STATIC_BASE_URL = "https://cxgov.invalid/"


class RefusedResource(ValueError):
    """A PDF asked for something outside the app's static files."""


def _static_path(url: str) -> Path | None:
    """Map ``<any host>/static/<path>`` (the STATIC_URL prefix) to a file the finders know."""
    parts = urlsplit(url)
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    path = unquote(parts.path)
    if not path.startswith(prefix):
        return None
    relative = path.removeprefix(prefix)
    if not relative or ".." in Path(relative).parts:
        return None
    found = finders.find(relative)
    if not found:
        return None
    return Path(found if isinstance(found, str) else found[0])


@cache
def _fetcher_class() -> type:
    """Built lazily: importing WeasyPrint is slow and only PDF requests need it."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serve static files and ``data:`` URIs; refuse ``file:``, network URLs and the rest."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "https", "http"), allow_redirects=False)

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme in ("http", "https"):
                path = _static_path(url)
                if path is not None:
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})
            raise RefusedResource(f"PDF resources are limited to the app's static files: {url[:120]}")

    return StaticOnlyFetcher


def static_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher limited to static files and data: URIs."""
    return _fetcher_class()()


def render_pdf(*, html: str, base_url: str | None = None) -> bytes:
    """Render ``html`` to PDF bytes; ``{% static %}`` URLs resolve, nothing else is fetched.

    ``base_url`` only matters for relative URLs; by default they resolve against a fake
    host so that ``/static/...`` reaches the fetcher as an absolute URL and never the disk.
    """
    from weasyprint import HTML

    document = HTML(string=html, base_url=base_url or STATIC_BASE_URL, url_fetcher=static_only_fetcher())
    return document.write_pdf()
