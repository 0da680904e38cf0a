"""One way to write a figure, for the HTML pages, the PDF report and the CSV exports.

A measure's unit decides its format: percentages with one decimal, money with its currency
and thousands separators, counts as whole numbers, scores (NPS points, CES means) with one
decimal. Values go through ``Decimal(str(...))`` first, so a float artefact such as
``12.1000000000000`` or ``0.30000000000000004`` never reaches a reader. Formatting is babel's
(CLDR data), not hand-written string slicing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from babel.numbers import format_currency, format_decimal

Unit = Literal["percent", "money", "count", "points", "mean", "number"]
UNITS: tuple[str, ...] = ("percent", "money", "count", "points", "mean", "number")
EMPTY = "—"
LOCALE = "en"

# Free-text units people type on a measure, read as a currency.
_CURRENCY_SIGNS = {"€": "EUR", "eur": "EUR", "$": "USD", "usd": "USD", "£": "GBP", "gbp": "GBP", "chf": "CHF"}
_PATTERNS = {
    "percent": "#,##0.0",
    "points": "#,##0.0",
    "mean": "#,##0.0",
    "count": "#,##0",
    "number": "#,##0.##",
}


def as_decimal(value: Any) -> Decimal | None:
    """``value`` as a Decimal through its shortest text form (``0.1 + 0.2`` → ``0.3``)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        if isinstance(value, float):
            return Decimal(repr(value))
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def figure_format(
    value: Any,
    *,
    unit: str,
    currency: str | None = None,
    signed: bool = False,
    suffix: bool = True,
    locale: str = LOCALE,
) -> str:
    """``value`` written for a reader in ``unit`` (one of ``UNITS``); ``—`` when there is none.

    ``signed`` puts a ``+`` before positive values (changes); ``suffix=False`` leaves out the
    ``%`` of percentages (a table whose header says "%").
    """
    number = as_decimal(value)
    if number is None:
        return EMPTY
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}: use one of {', '.join(UNITS)}")
    if unit == "money":
        places = 0 if number == number.to_integral_value() else 2
        pattern = "¤#,##0" if places == 0 else "¤#,##0.00"
        text = format_currency(
            _rounded(number, places),
            currency or "EUR",
            format=pattern,
            locale=locale,
            currency_digits=False,
        )
    else:
        places = {"count": 0, "number": 2}.get(unit, 1)
        rounded = _rounded(number, places)
        if rounded == 0:
            rounded = abs(rounded)  # no "-0.0"
        text = format_decimal(rounded, format=_PATTERNS[unit], locale=locale)
        if unit == "percent" and suffix:
            text += "%"
    if signed and number > 0:
        text = "+" + text
    return text


def unit_for_measure(*, kind: str, unit_text: str = "") -> tuple[str, str | None]:
    """The format (and currency) of a success measure, from its kind and the unit typed on it.

    NPS is in points, CSAT in percent, CES a mean; retention and churn are percentages; cost to
    serve and revenue per customer are money; contact volume is a count. Other kinds follow the
    unit text ("%" → percent, a currency sign → money, anything else → number).
    """
    text = (unit_text or "").strip().lower()
    currency = next((code for sign, code in _CURRENCY_SIGNS.items() if sign in text), None)
    by_kind = {
        "nps": "points",
        "csat": "percent",
        "ces": "mean",
        "retention": "percent",
        "churn": "percent",
        "cost_to_serve": "money",
        "revenue_per_customer": "money",
        "contact_volume": "count",
    }
    if kind in by_kind:
        fmt = by_kind[kind]
    elif "%" in text or "percent" in text:
        fmt = "percent"
    elif currency:
        fmt = "money"
    elif text.startswith(("count", "contacts", "customers", "tickets")):
        fmt = "count"
    else:
        fmt = "number"
    return fmt, (currency or "EUR") if fmt == "money" else None


def measure_figure(value: Any, *, kind: str, unit_text: str = "", signed: bool = False) -> str:
    """A success measure's value in its own format, with what is left of its unit text
    ("€133/customer", "9,400 contacts/month", "12.1%", "42.0 points")."""
    fmt, currency = unit_for_measure(kind=kind, unit_text=unit_text)
    text = figure_format(value, unit=fmt, currency=currency, signed=signed)
    if text == EMPTY:
        return text
    rest = (unit_text or "").strip()
    if fmt == "money":
        for sign in _CURRENCY_SIGNS:
            rest = rest.replace(sign, "").replace(sign.upper(), "")
        rest = rest.strip()
        return f"{text}{rest}" if rest.startswith("/") else f"{text} {rest}".rstrip()
    if fmt == "percent":
        return text
    if fmt == "points":
        return f"{text} points"
    return f"{text} {rest}".rstrip()


def unit_word(*, kind: str, unit_text: str = "") -> str:
    """How a distance in this measure's unit reads in a sentence: "points" for scores and
    percentages (percentage points), empty for money and counts (the figure says it)."""
    fmt, _ = unit_for_measure(kind=kind, unit_text=unit_text)
    return "points" if fmt in ("percent", "points", "mean") else ""
