"""Measured in a child process, so peak memory is the PDF's alone (plus Django's start-up).

``app``: the product's path — ``reports.services.report_generate`` on an org-wide report of
the last 18 months (figures from the database, HTML, PDF, file saved); also saves that
report's HTML for the baseline. ``cpu_seconds`` (this process only: the SQL runs in the
server) is there for noisy machines. ``raw``: WeasyPrint alone on the saved HTML, with the same
static-only fetcher so both lay out the same document with the same stylesheet.

Both are measured as a worker that has rendered before (``_like_a_worker``): each first lays
out a small document, untimed (WeasyPrint's first-use costs, ~0.2-0.4 s, are paid once per
process), with the same modules loaded. And the
baseline gets the same garbage-collector setting the product uses while it lays out
(``cxgov.pdf.FULL_COLLECTION_EVERY``), so the ratio measures what the product adds around
WeasyPrint, not a runtime setting only one side has.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path


def _pages(pdf: bytes) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _like_a_worker() -> None:
    """Both sides start as a worker that has rendered before: WeasyPrint imported, the URLconf
    loaded (the report links its charts to the responses behind them; the first reverse() of a
    process imports every app's views, ~0.4 s of CPU, once) and a small document laid out.

    The baseline loads the URLconf too although it never reverses a URL: the objects loaded
    are what the garbage collector weighs a full collection against (it runs one only when the
    objects added since the last make up a quarter of those that survived it). Without them, the
    baseline's process ran more full collections while it laid out and took longer than the
    product on the same HTML (ratio 0.91-0.94)."""
    import weasyprint  # noqa: F401
    from django.urls import reverse

    reverse("reports:report-list")
    _warm_up()


def app(username: str, html_path: Path) -> dict:
    _like_a_worker()

    from charter.models import User
    from reports import selectors, services
    from reports.models import Report

    user = User.objects.get(username=username)
    end = __import__("django.utils.timezone", fromlist=["now"]).now().date()
    start = end - timedelta(days=548)
    report = Report(
        period_start=start,
        period_end=end,
        org_wide=True,
        department_key="",
        fingerprint=f"bench-{time.time_ns()}",
        requested_by=user,
    )
    report.save()
    t0, c0 = time.perf_counter(), time.process_time()
    done = services.report_generate(report=report)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    if done.status != Report.Status.DONE:
        return {"error": f"report {done.status}: {done.error[:300]}"}
    with done.file.open("rb") as fh:
        pdf = fh.read()
    t1 = time.perf_counter()
    context = services.report_context(period=selectors.Period(start, end), department_ids=None, report=done)
    context_seconds = time.perf_counter() - t1
    html = services.report_html(context=context)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html)
    done.file.delete(save=False)
    return {
        "seconds": seconds,
        "cpu_seconds": round(cpu_seconds, 3),
        "context_seconds": round(context_seconds, 3),
        "pages": _pages(pdf),
        "html_kb": round(len(html.encode()) / 1024, 1),
        "peak_rss_mb": _rss_mb(),
    }


def _warm_up() -> None:
    from cxgov import pdf as app_pdf

    thread = app_pdf.pdf_warm_up_in_background()
    if thread is not None:
        thread.join()


def raw(html_path: Path) -> dict:
    import gc

    from weasyprint import HTML

    from cxgov import pdf as app_pdf

    _like_a_worker()
    fetcher = app_pdf.static_only_fetcher
    html = html_path.read_text()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0, gen1, max(gen2, app_pdf.FULL_COLLECTION_EVERY))
    t0, c0 = time.perf_counter(), time.process_time()
    pdf = HTML(string=html, base_url=app_pdf.STATIC_BASE_URL, url_fetcher=fetcher()).write_pdf()
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return {
        "seconds": seconds,
        "cpu_seconds": round(cpu_seconds, 3),
        "pages": _pages(pdf),
        "peak_rss_mb": _rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["app", "raw"])
    parser.add_argument("--user", default="bench-leader")
    parser.add_argument("--html", required=True)
    args = parser.parse_args(argv)
    import django

    django.setup()
    result = app(args.user, Path(args.html)) if args.mode == "app" else raw(Path(args.html))
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
