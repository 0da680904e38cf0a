"""Template helpers: a figure linked to the rows behind it, and number formatting."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def linked(value: Any, url: str, suffix: str = "", testid: str = "") -> str:
    """``value`` as a link to ``url`` (escaped); plain text when that list does not exist yet."""
    shown = "—" if value is None or value == "" else f"{value}{suffix}"
    if not url:
        return (
            format_html('<span data-testid="{}">{}</span>', testid, shown)
            if testid
            else format_html("{}", shown)
        )
    if testid:
        return format_html('<a href="{}" data-testid="{}">{}</a>', url, testid, shown)
    return format_html('<a href="{}">{}</a>', url, shown)


@register.filter
def score(value: Any) -> str:
    """Scores as the API gives them: one decimal, or an em dash when nobody answered."""
    if value is None:
        return "—"
    return f"{float(value):.1f}"


METRIC_UNITS = {"nps": "points", "csat": "percent", "ces": "mean"}


@register.filter
def metric_figure(row: dict[str, Any], metric: str) -> str:
    """A metric row's score in its unit, or "n = 2: too few answers" / "—" (the PDF's KPIs)."""
    from missions.templatetags.figures import too_few_or

    return too_few_or(row, METRIC_UNITS.get(metric, "points"))


@register.simple_tag
def money_in(value: Any, currency: str) -> str:
    """``{% money_in amount "EUR" %}``: money in its currency, thousands separated."""
    from missions.formatting import figure_format

    return figure_format(value, unit="money", currency=currency or "EUR")
