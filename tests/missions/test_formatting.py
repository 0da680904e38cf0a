"""One formatting helper: unit decides the format, no float artefacts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from missions.formatting import figure_format, measure_figure, unit_for_measure


@pytest.mark.parametrize(
    ("value", "unit", "currency", "expected"),
    [
        (12.1000000000000, "percent", None, "12.1%"),
        (Decimal("12.10"), "percent", None, "12.1%"),
        (0.1 + 0.2, "percent", None, "0.3%"),
        (1850, "money", "EUR", "€1,850"),
        (Decimal("1234567.5"), "money", "USD", "$1,234,567.50"),
        (9400.0, "count", None, "9,400"),
        (42.25, "points", None, "42.3"),
        (3.04, "mean", None, "3.0"),
        (None, "percent", None, "—"),
        (-0.04, "points", None, "0.0"),
    ],
)
def test_figure_format(value: object, unit: str, currency: str | None, expected: str) -> None:
    assert figure_format(value, unit=unit, currency=currency) == expected


def test_signed_change() -> None:
    assert figure_format(4.2, unit="points", signed=True) == "+4.2"
    assert figure_format(-4.2, unit="points", signed=True) == "-4.2"


def test_unknown_unit_is_an_error() -> None:
    with pytest.raises(ValueError):
        figure_format(1, unit="furlongs")


def test_measure_units() -> None:
    assert unit_for_measure(kind="churn", unit_text="%") == ("percent", None)
    assert unit_for_measure(kind="cost_to_serve", unit_text="€/customer") == ("money", "EUR")
    assert unit_for_measure(kind="contact_volume", unit_text="contacts/month") == ("count", None)
    assert unit_for_measure(kind="other", unit_text="$") == ("money", "USD")
    assert measure_figure(Decimal("12.1000000000000"), kind="churn", unit_text="%") == "12.1%"
    assert measure_figure(133, kind="cost_to_serve", unit_text="€/customer") == "€133/customer"
    assert measure_figure(9100, kind="contact_volume", unit_text="contacts/month") == "9,100 contacts/month"
    assert measure_figure(18, kind="nps", unit_text="pts") == "18.0 points"


def test_template_filter_uses_the_helper() -> None:
    html = Template('{% load figures %}{{ v|figure:"percent" }} {{ m|figure:"money:EUR" }}').render(
        Context({"v": 12.1000000000000, "m": Decimal("1850.00")})
    )
    assert html == "12.1% €1,850"
