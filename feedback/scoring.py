"""Score bands and scale validation, on the scale each source declares.

NPS: 0–10, promoters 9–10, passives 7–8, detractors 0–6. CSAT: 1–5, "satisfied" = 4–5
(top two boxes on any scale). CES: 1–7 mean, lower effort is better; 1–3 low effort,
5–7 high effort (the top three boxes of a 7-point scale; proportionally on others).
Scores are validated, never guessed: a value outside its scale is an error.
"""

from __future__ import annotations

from .models import DEFAULT_SCALES, Band


class ScaleError(ValueError):
    """A score outside its declared scale."""


def score_validate(*, metric: str, value: object, scale: tuple[int, int] | None = None) -> int:
    """Return ``value`` as an int on ``scale`` or raise ``ScaleError`` with a clear message."""
    lo, hi = scale or DEFAULT_SCALES[metric]
    if isinstance(value, bool):
        raise ScaleError(f"{metric.upper()} must be a whole number from {lo} to {hi}, not {value!r}.")
    if isinstance(value, str):
        value = value.strip()
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ScaleError(
            f"{metric.upper()} must be a whole number from {lo} to {hi}, not {value!r}."
        ) from None
    if number != int(number):
        raise ScaleError(f"{metric.upper()} must be a whole number from {lo} to {hi}, not {value!r}.")
    score = int(number)
    if not lo <= score <= hi:
        raise ScaleError(f"{metric.upper()} {score} is outside its scale {lo}–{hi}.")
    return score


def band_for(*, metric: str, value: int, scale: tuple[int, int] | None = None) -> str:
    """The band of a validated score on its scale."""
    lo, hi = scale or DEFAULT_SCALES[metric]
    if metric == "nps":
        # NPS is defined on 0–10; other scales are mapped proportionally onto it.
        on_ten = 10 * (value - lo) / (hi - lo) if hi > lo else 10
        if on_ten >= 9:
            return Band.PROMOTER
        if on_ten >= 7:
            return Band.PASSIVE
        return Band.DETRACTOR
    if metric == "csat":
        if value >= hi - 1:
            return Band.HIGH
        if value <= lo + 1:
            return Band.LOW
        return Band.NEUTRAL
    if metric == "ces":
        span = hi - lo
        third = span / 3
        if value <= lo + third:
            return Band.LOW_EFFORT
        if value >= hi - third:
            return Band.HIGH_EFFORT
        return Band.NEUTRAL
    raise ValueError(f"unknown metric {metric!r}")
