"""Template helpers for governance documents: ``{{ text|markdown }}``."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from charter.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    return render_markdown(text)


@register.filter(name="raci_next")
def raci_next_filter(value: str | None) -> str:
    from charter.services import raci_next

    return raci_next(value or "")
