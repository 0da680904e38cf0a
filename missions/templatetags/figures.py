"""Template filters over ``missions.formatting``: the one way figures are written."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from missions.formatting import figure_format, measure_figure

register = template.Library()


@register.filter
def figure(value: Any, spec: str = "number") -> str:
    """``{{ value|figure:"percent" }}``, ``{{ amount|figure:"money:EUR" }}``."""
    unit, _, currency = spec.partition(":")
    return figure_format(value, unit=unit, currency=currency or None)


@register.filter
def measure_value(value: Any, measure: Any) -> str:
    """``{{ actual.value|measure_value:measure }}``: in the measure's unit ("12.1%", "€133/customer")."""
    return measure_figure(value, kind=getattr(measure, "kind", ""), unit_text=getattr(measure, "unit", ""))


@register.filter
def too_few_or(row: dict[str, Any], spec: str = "points") -> str:
    """A metric row's score, or "n = 2: too few answers" / "—" when it must not be a number."""
    if not row or not row.get("count"):
        return "—"
    if row.get("small_sample"):
        return f"n = {row['count']}: too few answers"
    return figure_format(row.get("score"), unit=spec)


@register.filter
def uncertainty(row: dict[str, Any]) -> str:
    """ "±4.2 (95 %)" for NPS/CSAT, "95 % CI 3.8–4.4" for CES; empty when too few answers."""
    if not row or not row.get("count") or row.get("small_sample"):
        return ""
    if row.get("margin_of_error") is not None:
        return f"±{figure_format(row['margin_of_error'], unit='points')} (95 %)"
    if row.get("ci_low") is not None and row.get("ci_high") is not None:
        low = figure_format(row["ci_low"], unit="mean")
        high = figure_format(row["ci_high"], unit="mean")
        return f"95 % CI {low}–{high}"
    return ""


@register.simple_tag
def measure_latest(measure: Any) -> str:
    """A measure's latest value with its period and n, or why there is none."""
    status = getattr(measure, "status", None)
    if status is None:
        return "—"
    latest = status.latest
    if latest is None:
        reason = status.latest_reason or "none yet"
        if reason.startswith("too few answers (n = "):
            reason = f"n = {reason.removeprefix('too few answers (n = ').rstrip(')')}: too few answers"
        return format_html('<span class="muted" data-testid="latest-reason">{}</span>', reason)
    value = measure_figure(latest.value, kind=measure.kind, unit_text=measure.unit)
    when = latest.date.strftime("%b %Y") if latest.source == "computed" else latest.date.strftime("%d %b %Y")
    detail = f"{when} · n = {latest.count}" if latest.count is not None else f"{when} · entered"
    return format_html(
        '<span data-testid="latest-value">{}</span><br><small class="muted">{}</small>', value, detail
    )
