"""Template filters over ``missions.formatting``: the one way figures are written."""

from __future__ import annotations

from typing import Any

from django import template

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
