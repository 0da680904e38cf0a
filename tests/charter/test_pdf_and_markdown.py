"""The shared PDF helper fetches only static files; Markdown never passes raw HTML."""

from __future__ import annotations

import gc
import io
import logging
import threading

import pytest
from pypdf import PdfReader

from charter.markdown import render_markdown
from cxgov import pdf
from cxgov.pdf import render_pdf, static_only_fetcher


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_render_pdf_returns_a_pdf_with_the_text() -> None:
    pdf = render_pdf(html="<h1>Hello charter</h1>")
    assert pdf.startswith(b"%PDF") and "Hello charter" in _text(pdf)


def test_a_pdf_logs_its_warnings_but_not_its_layout_steps(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # production's level (the test settings log warnings only)
    render_pdf(html="<style>p { colour: red }</style><p>Quiet</p>")
    assert not [r for r in caplog.records if r.name == "weasyprint.progress"]
    assert any(r.name == "weasyprint" and r.levelno == logging.WARNING for r in caplog.records)


def test_static_files_are_served_to_the_pdf() -> None:
    response = static_only_fetcher().fetch("https://cxgov.invalid/static/cxgov/cxgov.css")
    assert b"cxgov" in response.read()


def test_file_urls_and_the_network_are_refused() -> None:
    fetcher = static_only_fetcher()
    for url in ("file:///etc/passwd", "https://example.com/x.png", "https://cxgov.invalid/static/../../etc/passwd",
                "ftp://example.com/a"):  # fmt: skip
        try:
            fetcher.fetch(url)
        except Exception as exc:
            assert "limited" in str(exc) or "disallowed" in str(exc)
        else:  # pragma: no cover
            raise AssertionError(f"{url} was fetched")


def test_a_pdf_naming_a_local_file_renders_without_it() -> None:
    pdf = render_pdf(
        html='<p>Safe</p><img src="file:///etc/passwd"><iframe src="file:///etc/hostname"></iframe>'
    )
    assert "Safe" in _text(pdf) and "root:" not in _text(pdf)


def test_data_uris_are_allowed() -> None:
    assert static_only_fetcher().fetch("data:text/plain,hello").read() == b"hello"


def test_markdown_formats_and_escapes_raw_html() -> None:
    html = render_markdown("**bold** <script>alert(1)</script> <b>raw</b>\n\n- item")
    assert "<strong>bold</strong>" in html and "<li>item</li>" in html
    assert "<script>" not in html and "<b>" not in html and "&lt;script&gt;" in html


def test_markdown_drops_javascript_links() -> None:
    html = render_markdown("[click](javascript:alert(1)) [ok](https://example.com)")
    assert "javascript:" not in html and 'href="https://example.com"' in html


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The PDF helper as in a process that has not warmed up yet; returns the documents laid out."""
    monkeypatch.setattr(pdf, "_warm_started", threading.Event())
    monkeypatch.setattr(pdf, "_warm_done", threading.Event())
    laid_out: list[str] = []
    write = pdf._write_pdf

    def spy(html: str, base_url: str) -> bytes:
        laid_out.append(html)
        if "fail the warm-up" in laid_out[0] and html == laid_out[0]:
            raise RuntimeError("no fonts")
        return write(html, base_url)

    monkeypatch.setattr(pdf, "_write_pdf", spy)
    return laid_out


def test_the_warm_up_runs_once_per_process_and_the_first_pdf_waits_for_it(fresh_process: list[str]) -> None:
    assert pdf.pdf_warm_up_in_background() is not None
    assert pdf.pdf_warm_up_in_background() is None
    out = render_pdf(html="<p>First report</p>")
    assert "First report" in _text(out)
    assert fresh_process == [pdf._WARM_UP_HTML, "<p>First report</p>"]


def test_a_failed_warm_up_leaves_the_pdfs_working(
    fresh_process: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "_WARM_UP_HTML", "<p>fail the warm-up</p>")
    thread = pdf.pdf_warm_up_in_background()
    assert thread is not None
    thread.join(timeout=30)
    assert pdf._warm_done.is_set()
    assert "Still fine" in _text(render_pdf(html="<p>Still fine</p>"))


def test_full_collections_are_rare_while_any_thread_lays_out_and_as_before_afterwards() -> None:
    before = gc.get_threshold()
    with pdf._collections.during_layout():
        assert gc.get_threshold() == (*before[:2], pdf.FULL_COLLECTION_EVERY)
        with pdf._collections.during_layout():  # a second thread's layout
            pass
        assert gc.get_threshold()[2] == pdf.FULL_COLLECTION_EVERY  # the first is still laying out
    assert gc.get_threshold() == before
    render_pdf(html="<p>x</p>")
    assert gc.get_threshold() == before


def test_a_child_forked_mid_layout_or_mid_warm_up_starts_afresh(
    fresh_process: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = gc.get_threshold()
    parent = pdf._FewFullCollections()  # the parent was laying out when it forked
    parent.layouts, parent.saved = 1, before
    monkeypatch.setattr(pdf, "_collections", parent)
    gc.set_threshold(before[0], before[1], pdf.FULL_COLLECTION_EVERY)
    pdf._warm_started.set()  # and warming up: that thread is not in the child
    pdf._after_fork_in_child()
    assert gc.get_threshold() == before and parent.layouts == 0
    assert pdf.pdf_warm_up_in_background() is not None  # the child warms up itself
    assert "Child" in _text(render_pdf(html="<p>Child</p>"))
    assert gc.get_threshold() == before
