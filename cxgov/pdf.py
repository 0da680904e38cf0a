"""The one way the app turns HTML into a PDF (Charter one-pager, ROI report).

WeasyPrint would happily fetch ``file://`` paths and arbitrary URLs named in the HTML; a
document that carries user text must not be able to read the server's files or reach the
network. The fetcher here serves only the app's own static files (found through the
staticfiles finders, exactly what ``{% static %}`` names) and ``data:`` URIs; everything
else is refused, and the PDF simply renders without that resource.
"""

from __future__ import annotations

import gc
import logging
import mimetypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders

STATIC_BASE_URL = "https://cxgov.invalid/"

log = logging.getLogger(__name__)

# What every document of the app uses: DejaVu regular and bold, a table, an inline SVG chart
# with text, margin boxes with page counters. Laying this out once loads what WeasyPrint
# loads on first use in a process (cffi declarations, fontconfig and HarfBuzz faces, the
# subsetter); ~0.2 s of CPU that a worker's first PDF would otherwise pay.
_WARM_UP_HTML = """<!doctype html><html><head><style>
@page { size: A4; margin: 18mm; @bottom-right { content: "Page " counter(page) " of " counter(pages);
  font: 8pt "DejaVu Sans"; } }
html { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; }
.toc a::after { content: leader(".") target-counter(attr(href), page); }
.kpis { display: flex; } .kpi { flex: 1; }
</style></head><body>
<nav class="toc"><a href="#a">Contents</a></nav>
<h2 id="a">Warm-up — “quoted” é</h2><p><b>Bold</b> <strong>strong</strong> <i>italic</i> 0123 % ± −</p>
<div class="kpis"><div class="kpi">NPS<b>12.5</b></div><div class="kpi">CSAT</div></div>
<table><thead><tr><th>Month</th><th>n</th></tr></thead>
<tbody><tr><td>Oct 2026</td><td>42</td></tr></tbody></table>
<blockquote>A comment</blockquote>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 40" width="100" height="40">
<line x1="0" x2="100" y1="20" y2="20" stroke="#d0d5dd"/><polyline points="0,30 50,10 100,20" fill="none"
stroke="#1d4ed8"/><circle cx="50" cy="10" r="4" fill="#1d4ed8"/><text x="50" y="38" font-size="10"
text-anchor="middle">2026-10</text></svg>
</body></html>"""

# Python's full collections walk every live object. A layout holds a large, growing graph
# of boxes and styles, so with the default thresholds the 3-4 full collections of a
# 20-page report took ~0.7-1 s of its ~3.5 s, and found next to nothing: the young
# generations still collect every ~700 allocations, so short-lived cycles go as before.
FULL_COLLECTION_EVERY = 1000  # young (gen 1) collections, instead of Python's 10


class _FewFullCollections:
    """Raise the full-collection threshold while any thread lays out a PDF."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.layouts = 0
        self.saved: tuple[int, int, int] | None = None

    @contextmanager
    def during_layout(self) -> Iterator[None]:
        with self.lock:
            if self.layouts == 0:
                self.saved = gc.get_threshold()
                gen0, gen1, gen2 = self.saved
                gc.set_threshold(gen0, gen1, max(gen2, FULL_COLLECTION_EVERY))
            self.layouts += 1
        try:
            yield
        finally:
            with self.lock:
                self.layouts = max(self.layouts - 1, 0)
                if self.layouts == 0 and self.saved is not None:
                    gc.set_threshold(*self.saved)

    def forget_layouts(self) -> None:
        """In a child forked during a layout: no thread of it lays out there."""
        self.lock = threading.Lock()
        if self.layouts and self.saved is not None:
            gc.set_threshold(*self.saved)
        self.layouts = 0


_collections = _FewFullCollections()
_warm_lock = threading.Lock()
_warm_started = threading.Event()
_warm_done = threading.Event()


def _after_fork_in_child() -> None:
    """A child forked while the parent laid out or warmed up inherits the state, not the
    threads: it would keep the raised threshold and wait for a warm-up that never ends."""
    global _warm_lock  # one held in the parent at fork time would stay held in the child
    _warm_lock = threading.Lock()
    if _warm_started.is_set() and not _warm_done.is_set():
        _warm_started.clear()
    _collections.forget_layouts()


os.register_at_fork(after_in_child=_after_fork_in_child)


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


def _warm_up() -> None:
    try:
        _write_pdf(_WARM_UP_HTML, STATIC_BASE_URL)
    except Exception:  # a failed warm-up only means that the first real PDF pays the cost
        log.warning("pdf warm-up failed", exc_info=True)
    finally:
        _warm_done.set()


def pdf_warm_up_in_background() -> threading.Thread | None:
    """Lay out a small document in a thread, once per process, while the caller waits on the
    database; ``None`` when this process has started its warm-up already. ``render_pdf``
    waits for a warm-up under way rather than lay out beside it."""
    with _warm_lock:
        if _warm_started.is_set():
            return None
        _warm_started.set()
    thread = threading.Thread(target=_warm_up, name="cxgov-pdf-warm-up", daemon=True)
    thread.start()
    return thread


def _write_pdf(html: str, base_url: str) -> bytes:
    from weasyprint import HTML

    with _collections.during_layout():
        return HTML(string=html, base_url=base_url, url_fetcher=static_only_fetcher()).write_pdf()


def render_pdf(*, html: str, base_url: str | None = None) -> bytes:
    """Render ``html`` to PDF bytes; ``{% static %}`` URLs resolve, nothing else is fetched.

    ``base_url`` only matters for relative URLs; by default they resolve against a fake
    host so that ``/static/...`` reaches the fetcher as an absolute URL and never the disk.
    """
    if _warm_started.is_set():
        _warm_done.wait(timeout=60)
    return _write_pdf(html, base_url or STATIC_BASE_URL)
