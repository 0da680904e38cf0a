"""What a success measure may claim: its latest value and its progress to target.

Pure (reads the measure's prefetched actuals; no queries of its own), so the success page,
the dashboards, the API, the CSV exports and the PDF say the same thing.

- **Latest** is the most recent actual of a *complete* period with *enough answers*: an actual
  dated in the future is ignored; a computed (NPS/CSAT/CES) actual is a month and counts only
  once that month is over and had at least the measure's ``min_answers``. Otherwise ``latest``
  is None and ``latest_reason`` says why ("too few answers (n = 2)").
- **Progress** = (latest − baseline) / (target − baseline): the target sets the direction, so
  it is right for "lower is better" too. Moving away from the target is said in words ("4.2
  points further from target than the baseline"), never as a negative percentage; past the
  target it is reached (1.0) with how far beyond.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from .formatting import figure_format, unit_for_measure, unit_word

DEFAULT_MIN_ANSWERS = 30


@dataclass(frozen=True)
class Progress:
    """Share of the way from baseline to target (0..1; 1 = reached), or None with ``reason``."""

    share: float | None
    reason: str | None
    reached: bool = False
    away: bool = False

    @property
    def percent(self) -> float | None:
        return None if self.share is None else round(self.share * 100, 1)

    @property
    def label(self) -> str:
        if self.share is None:
            return self.reason or "—"
        if self.reached:
            return f"target reached ({self.reason})" if self.reason else "target reached"
        return f"{figure_format(self.share * 100, unit='percent')} of the way"


def _distance(value: Decimal, *, unit: str, currency: str | None, word: str) -> str:
    text = figure_format(value, unit=unit, currency=currency)
    if unit == "percent":
        text = text.rstrip("%")
    return f"{text} {word}".strip() if word else text


def progress_to_target(
    *,
    baseline: Decimal | float | None,
    latest: Decimal | float | None,
    target: Decimal | float | None,
    unit: str = "number",
    currency: str | None = None,
    word: str = "points",
) -> Progress:
    """(latest − baseline) / (target − baseline), in the direction the target sets.

    Moved away from target: no percentage but "4.2 points further from target than the
    baseline". Past the target: share 1 (reached) with how far beyond. ``unit``/``currency``/
    ``word`` write distances in the measure's own format.
    """
    if baseline is None or target is None:
        return Progress(None, "no baseline or target")
    if latest is None:
        return Progress(None, "no latest value yet")
    b, t, v = (Decimal(str(x)) for x in (baseline, target, latest))
    if t == b:
        return Progress(None, "target equals baseline")
    share = (v - b) / (t - b)
    if share < 0:
        far = _distance(abs(v - b), unit=unit, currency=currency, word=word)
        return Progress(None, f"{far} further from target than the baseline", away=True)
    if share > 1:
        beyond = _distance(abs(v - t), unit=unit, currency=currency, word=word)
        return Progress(1.0, f"{beyond} beyond target", reached=True)
    return Progress(float(share), None, reached=share == 1)


@dataclass(frozen=True)
class Latest:
    value: Decimal
    date: dt.date
    period: str  # "2026-11" for a computed month, the date for an entered value
    count: int | None
    source: str  # "entered" | "computed"
    actual: Any


@dataclass(frozen=True)
class MeasureStatus:
    latest: Latest | None
    latest_reason: str | None
    progress: Progress
    previous: Latest | None  # the eligible actual before ``latest`` (for a change)

    @property
    def progress_reason(self) -> str | None:
        return self.progress.reason


def month_over(first: dt.date, *, today: dt.date) -> bool:
    return (first.year, first.month) < (today.year, today.month)


def measure_status(
    measure: Any, *, today: dt.date | None = None, minimum: int | None = None
) -> MeasureStatus:
    """``measure``'s latest value and progress (see the module docstring). ``minimum`` overrides
    the measure's own ``min_answers``."""
    today = today or timezone.now().date()
    needed = (
        minimum if minimum is not None else (getattr(measure, "min_answers", None) or DEFAULT_MIN_ANSWERS)
    )
    actuals = sorted(
        measure.actuals.all(), key=lambda a: (a.date, a.origin == "manual", a.pk or 0), reverse=True
    )
    eligible: list[Latest] = []
    reason: str | None = None
    few: str | None = None
    for actual in actuals:
        if actual.date > today:
            reason = reason or f"only a future-dated value ({actual.date:%Y-%m-%d})"
            continue
        if actual.origin == "computed":
            if not month_over(actual.date, today=today):
                reason = reason or f"{actual.date:%b %Y} is not over yet"
                continue
            if actual.count is not None and actual.count < needed:
                # The most recent complete month's count is the one worth saying.
                few = few or f"too few answers (n = {actual.count})"
                continue
            eligible.append(
                Latest(
                    Decimal(actual.value),
                    actual.date,
                    f"{actual.date:%Y-%m}",
                    actual.count,
                    "computed",
                    actual,
                )
            )
        else:
            eligible.append(
                Latest(Decimal(actual.value), actual.date, f"{actual.date:%Y-%m-%d}", None, "entered", actual)
            )
        if len(eligible) == 2:
            break
    latest = eligible[0] if eligible else None
    reason = few or reason
    fmt, currency = unit_for_measure(kind=measure.kind, unit_text=measure.unit)
    progress = progress_to_target(
        baseline=measure.baseline_value,
        latest=latest.value if latest else None,
        target=measure.target_value,
        unit=fmt,
        currency=currency,
        word=unit_word(kind=measure.kind, unit_text=measure.unit),
    )
    if latest is None and progress.reason == "no latest value yet" and reason:
        progress = Progress(None, "no latest value yet")
    return MeasureStatus(
        latest=latest,
        latest_reason=None if latest else (reason or "no actuals yet"),
        progress=progress,
        previous=eligible[1] if len(eligible) > 1 else None,
    )
