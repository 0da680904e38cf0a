"""The shared PDF helper fetches only static files; Markdown never passes raw HTML."""

from __future__ import annotations

import io

from pypdf import PdfReader

from charter.markdown import render_markdown
from cxgov.pdf import render_pdf, static_only_fetcher


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_render_pdf_returns_a_pdf_with_the_text() -> None:
    pdf = render_pdf(html="<h1>Hello charter</h1>")
    assert pdf.startswith(b"%PDF") and "Hello charter" in _text(pdf)


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
