"""How sure a figure is: sample size, margins, confidence intervals, significance, progress.

Pure functions over counts (no ORM), so the metrics API, the dashboards, the success page and
the PDF report all say the same thing about the same numbers. The statistics are scipy's and
statsmodels', not hand-written:

- **NPS** (−100..100): 95 % margin of error from the standard NPS variance
  ``var = p + d − (p − d)²`` (``p``, ``d`` the shares of promoters and detractors):
  ``z · sqrt(var / n) · 100``. Two periods differ when ``(NPS₂ − NPS₁) / sqrt(var₁/n₁ + var₂/n₂)``
  is beyond the normal quantile (two-sided, ``ALPHA``).
- **CSAT top-box** (% of 4–5 answers): margin ``z · sqrt(p(1 − p)/n) · 100``; two periods by
  statsmodels' two-proportion z test.
- **CES** (mean, 1–7, lower effort is better): Student-t confidence interval of the mean; two
  periods by Welch's t test (``scipy.stats.ttest_ind_from_stats``, unequal variances).
- **Too few answers**: below ``MIN_ANSWERS`` (30 unless a measure or dashboard says otherwise)
  a score is not shown as a number ("n = 2: too few answers") and never becomes "latest".
- **Progress to target** = (latest − baseline) / (target − baseline): the target sets the
  direction, so it is right for "lower is better" too. Moving away from the target is said in
  words, never as a negative percentage (``missions.measure_status``, re-exported here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from missions.formatting import figure_format

MIN_ANSWERS = 30
ALPHA = 0.05
CONFIDENCE = 0.95
NO_CLEAR_CHANGE = "no clear change"


# scipy and statsmodels take ~1.2 s to import: loaded on the first figure that needs them, not
# with the URLconf of every web process, worker and management command.
@cache
def _scipy_stats() -> Any:
    from scipy import stats

    return stats


@cache
def _z95() -> float:
    return float(_scipy_stats().norm.ppf(1 - (1 - CONFIDENCE) / 2))  # 1.959963…


def too_few(n: int, *, minimum: int | None = None) -> bool:
    """Whether ``n`` answers are too few to show a score (``minimum`` defaults to 30)."""
    return n < (MIN_ANSWERS if minimum is None else minimum)


def too_few_label(n: int) -> str:
    return f"n = {n}: too few answers"


@dataclass(frozen=True)
class Estimate:
    """A score with its sample size and uncertainty. ``value`` is None when nobody answered;
    ``too_few`` says it must not be shown as a number."""

    metric: str
    value: float | None
    n: int
    margin: float | None = None  # half-width of the 95 % interval (NPS, CSAT), in points
    ci_low: float | None = None
    ci_high: float | None = None
    too_few: bool = True
    minimum: int = MIN_ANSWERS

    @property
    def shown(self) -> bool:
        return self.value is not None and not self.too_few

    @property
    def reason(self) -> str | None:
        """Why the value is not shown, or None when it is."""
        if self.n == 0 or self.value is None:
            return "no answers"
        if self.too_few:
            return f"too few answers (n = {self.n})"
        return None


def _interval(value: float | None, margin: float | None, lo: float, hi: float) -> tuple[Any, Any]:
    if value is None or margin is None:
        return None, None
    return max(lo, value - margin), min(hi, value + margin)


def nps_variance(*, promoters: int, passives: int, detractors: int) -> float | None:
    """Variance of one answer scored +1/0/−1 (promoter/passive/detractor): p + d − (p − d)²."""
    n = promoters + passives + detractors
    if n == 0:
        return None
    p, d = promoters / n, detractors / n
    return max(p + d - (p - d) ** 2, 0.0)


def nps_estimate(*, promoters: int, passives: int, detractors: int, minimum: int | None = None) -> Estimate:
    n = promoters + passives + detractors
    minimum = MIN_ANSWERS if minimum is None else minimum
    if n == 0:
        return Estimate("nps", None, 0, minimum=minimum)
    value = 100.0 * (promoters - detractors) / n
    variance = nps_variance(promoters=promoters, passives=passives, detractors=detractors) or 0.0
    margin = _z95() * math.sqrt(variance / n) * 100
    low, high = _interval(value, margin, -100.0, 100.0)
    return Estimate("nps", value, n, margin, low, high, too_few(n, minimum=minimum), minimum)


def csat_estimate(*, satisfied: int, n: int, minimum: int | None = None) -> Estimate:
    """CSAT top-box: share of satisfied answers (the top two boxes), normal-approximation margin."""
    minimum = MIN_ANSWERS if minimum is None else minimum
    if n == 0:
        return Estimate("csat", None, 0, minimum=minimum)
    p = satisfied / n
    value = 100.0 * p
    margin = _z95() * math.sqrt(p * (1 - p) / n) * 100
    low, high = _interval(value, margin, 0.0, 100.0)
    return Estimate("csat", value, n, margin, low, high, too_few(n, minimum=minimum), minimum)


def ces_estimate(*, mean: float | None, sd: float | None, n: int, minimum: int | None = None) -> Estimate:
    """CES: mean effort with its Student-t 95 % confidence interval (``sd`` the sample SD)."""
    minimum = MIN_ANSWERS if minimum is None else minimum
    if n == 0 or mean is None:
        return Estimate("ces", None, 0, minimum=minimum)
    low = high = None
    if n > 1 and sd is not None:
        half = float(_scipy_stats().t.ppf(1 - (1 - CONFIDENCE) / 2, df=n - 1)) * sd / math.sqrt(n)
        low, high = float(mean) - half, float(mean) + half
    return Estimate("ces", float(mean), n, None, low, high, too_few(n, minimum=minimum), minimum)


def ces_sd_from_sums(*, n: int, total: float, total_sq: float) -> float | None:
    """Sample standard deviation from the count, sum and sum of squares (groups add up)."""
    if n < 2:
        return None
    variance = (total_sq - total * total / n) / (n - 1)
    return math.sqrt(max(variance, 0.0))


# --- change between two periods --------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A period-over-period change. ``significant`` is None when it could not be tested
    (a side has too few answers); ``label`` is what a reader sees."""

    delta: float | None
    p_value: float | None
    significant: bool | None
    label: str

    @property
    def clear(self) -> bool:
        return bool(self.significant)


def _change(delta: float, p_value: float) -> Change:
    p_value = float(p_value)
    if math.isnan(p_value):
        # No variance on either side (everybody answered the same): any difference is real.
        significant = delta != 0
        p_value = 0.0 if significant else 1.0
    else:
        significant = p_value < ALPHA
    if not significant:
        return Change(delta, p_value, False, NO_CLEAR_CHANGE)
    word = "up" if delta > 0 else "down"
    amount = figure_format(abs(delta), unit="points")
    return Change(delta, p_value, True, f"{word} {amount} points (p = {p_value:.3f})")


def _untestable(before_n: int, after_n: int, minimum: int | None) -> Change | None:
    smallest = min(before_n, after_n)
    if too_few(smallest, minimum=minimum):
        return Change(None, None, None, f"too few answers to compare (n = {smallest})")
    return None


def nps_change(
    *, before: tuple[int, int, int], after: tuple[int, int, int], minimum: int | None = None
) -> Change:
    """``before``/``after`` are (promoters, passives, detractors). z test on the NPS difference
    with the standard NPS variance of each period."""
    n1, n2 = sum(before), sum(after)
    blocked = _untestable(n1, n2, minimum)
    if blocked:
        return blocked
    v1 = nps_variance(promoters=before[0], passives=before[1], detractors=before[2]) or 0.0
    v2 = nps_variance(promoters=after[0], passives=after[1], detractors=after[2]) or 0.0
    s1 = (before[0] - before[2]) / n1
    s2 = (after[0] - after[2]) / n2
    se = math.sqrt(v1 / n1 + v2 / n2)
    delta = 100.0 * (s2 - s1)
    if se == 0:
        return _change(delta, float("nan"))
    z = (s2 - s1) / se
    return _change(delta, 2 * float(_scipy_stats().norm.sf(abs(z))))


def csat_change(*, before: tuple[int, int], after: tuple[int, int], minimum: int | None = None) -> Change:
    """``before``/``after`` are (satisfied, n). statsmodels' two-proportion z test (pooled)."""
    (x1, n1), (x2, n2) = before, after
    blocked = _untestable(n1, n2, minimum)
    if blocked:
        return blocked
    delta = 100.0 * (x2 / n2 - x1 / n1)
    if x1 + x2 in (0, n1 + n2):  # everybody (or nobody) satisfied in both: no variance
        return _change(delta, float("nan"))
    from statsmodels.stats.proportion import proportions_ztest

    _, p_value = proportions_ztest(count=[x2, x1], nobs=[n2, n1])
    return _change(delta, float(p_value))


def ces_change(
    *,
    before: tuple[float, float, int],
    after: tuple[float, float, int],
    minimum: int | None = None,
) -> Change:
    """``before``/``after`` are (mean, sample SD, n). Welch's t test (unequal variances)."""
    (m1, sd1, n1), (m2, sd2, n2) = before, after
    blocked = _untestable(n1, n2, minimum)
    if blocked:
        return blocked
    delta = float(m2) - float(m1)
    if not sd1 and not sd2:
        return _change(delta, float("nan"))
    result = _scipy_stats().ttest_ind_from_stats(
        mean1=m2, std1=sd2 or 0.0, nobs1=n2, mean2=m1, std2=sd1 or 0.0, nobs2=n1, equal_var=False
    )
    return _change(delta, float(result.pvalue))


# --- progress to target ----------------------------------------------------------------
# Lives in missions (the success measures' own rules; missions may not import reports) and is
# re-exported here so every statistic has one home to import from.

from missions.measure_status import Progress, progress_to_target  # noqa: E402

__all__ = [
    "ALPHA",
    "MIN_ANSWERS",
    "NO_CLEAR_CHANGE",
    "Change",
    "Estimate",
    "Progress",
    "ces_change",
    "ces_estimate",
    "csat_change",
    "csat_estimate",
    "nps_change",
    "nps_estimate",
    "progress_to_target",
    "too_few",
    "too_few_label",
]
