"""Markdown for narrative fields, rendered safely.

People write mission and charter text with light formatting (emphasis, lists, links).
Raw HTML is never passed through: ``<`` is escaped before Markdown runs, and the output is
cleaned again with nh3 against a short allow-list, so a ``<script>`` in a narrative is text.
"""

from __future__ import annotations

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def render_markdown(text: str | None) -> SafeString:
    """Markdown → sanitised HTML, safe to put in a template or a PDF."""
    if not text:
        return mark_safe("")  # nosec B308
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    html = md.markdown(escaped, extensions=["sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308  # nosec B308 B703
