"""reports.statistics against numbers computed by hand (formulas written out in each test)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from reports import statistics as st

Z = 1.959963984540054  # the 97.5 % normal quantile


def test_nps_estimate_has_value_n_and_standard_margin() -> None:
    est = st.nps_estimate(promoters=50, passives=30, detractors=20)
    # NPS = 50 % − 20 % = 30; var = 0.5 + 0.2 − 0.3² = 0.61; margin = z·sqrt(0.61/100)·100
    assert est.value == pytest.approx(30.0)
    assert est.n == 100
    assert est.margin == pytest.approx(Z * math.sqrt(0.61 / 100) * 100)
    assert est.margin == pytest.approx(15.3078, abs=1e-4)
    assert (est.ci_low, est.ci_high) == pytest.approx((30 - 15.3078, 30 + 15.3078), abs=1e-4)
    assert est.shown and est.reason is None


def test_csat_estimate_is_top_box_share_with_proportion_margin() -> None:
    est = st.csat_estimate(satisfied=80, n=100)
    # p = 0.8; margin = z·sqrt(0.8·0.2/100)·100 = z·4
    assert est.value == pytest.approx(80.0)
    assert est.margin == pytest.approx(Z * 4)


def test_ces_estimate_has_student_t_interval() -> None:
    est = st.ces_estimate(mean=4.0, sd=1.5, n=36)
    # t(0.975, 35) = 2.030108; half-width = 2.030108 · 1.5 / 6 = 0.507527
    assert est.margin is None
    assert est.ci_low == pytest.approx(4.0 - 0.507527, abs=1e-5)
    assert est.ci_high == pytest.approx(4.0 + 0.507527, abs=1e-5)


def test_small_sample_is_too_few_and_says_why() -> None:
    est = st.nps_estimate(promoters=0, passives=0, detractors=2)
    assert est.value == -100.0
    assert est.too_few and not est.shown
    assert est.reason == "too few answers (n = 2)"
    assert st.too_few_label(2) == "n = 2: too few answers"


def test_minimum_answers_is_settable() -> None:
    assert st.csat_estimate(satisfied=5, n=10, minimum=10).shown
    assert not st.csat_estimate(satisfied=5, n=10).shown
    assert st.too_few(29) and not st.too_few(30)


def test_no_answers_is_no_value() -> None:
    est = st.csat_estimate(satisfied=0, n=0)
    assert est.value is None and est.reason == "no answers"


def test_csat_change_two_proportion_test_not_significant_is_no_clear_change() -> None:
    change = st.csat_change(before=(70, 100), after=(80, 100))
    # pooled p = 150/200 = 0.75; se = sqrt(0.75·0.25·(2/100)); z = 0.1/se = 1.63299; p = 0.10247
    z = 0.1 / math.sqrt(0.75 * 0.25 * 0.02)
    assert z == pytest.approx(1.63299, abs=1e-5)
    assert change.p_value == pytest.approx(0.10247, abs=1e-4)
    assert change.delta == pytest.approx(10.0)
    assert change.significant is False
    assert change.label == "no clear change"


def test_csat_change_significant_says_direction() -> None:
    change = st.csat_change(before=(700, 1000), after=(800, 1000))
    # se = sqrt(0.1875 · 0.002) = 0.019365; z = 5.164; p ≈ 2.4e-7
    assert change.significant is True
    assert change.p_value == pytest.approx(2.4e-7, rel=0.05)
    assert change.label.startswith("up 10.0 points")


def test_nps_change_uses_standard_nps_variance() -> None:
    change = st.nps_change(before=(40, 30, 30), after=(60, 20, 20))
    # NPS 10 → 40; var 0.4+0.3−0.01 = 0.69 and 0.6+0.2−0.16 = 0.64
    # z = 0.3 / sqrt(0.69/100 + 0.64/100) = 2.60133; p = 2·(1 − Φ(z)) = 0.009286
    assert change.delta == pytest.approx(30.0)
    assert change.p_value == pytest.approx(0.009286, abs=1e-5)
    assert change.significant is True
    assert change.label.startswith("up 30.0 points")


def test_ces_change_welch_t() -> None:
    change = st.ces_change(before=(4.0, 1.5, 36), after=(3.5, 1.2, 40))
    # se = sqrt(2.25/36 + 1.44/40) = 0.313847; t = −1.59313; Welch df = 66.99; p = 0.1159
    assert change.delta == pytest.approx(-0.5)
    assert change.p_value == pytest.approx(0.1159, abs=5e-4)
    assert change.label == "no clear change"


def test_change_with_too_few_answers_is_not_tested() -> None:
    change = st.nps_change(before=(1, 0, 1), after=(40, 30, 30))
    assert change.significant is None
    assert change.label == "too few answers to compare (n = 2)"


def test_progress_higher_is_better() -> None:
    # (24 − 18) / (30 − 18) = 0.5
    progress = st.progress_to_target(baseline=18, latest=24, target=30)
    assert progress.share == pytest.approx(0.5) and progress.percent == 50.0
    assert progress.label == "50.0% of the way"


def test_progress_lower_is_better() -> None:
    # churn 13.5 → 12.1, target 10: (12.1 − 13.5) / (10 − 13.5) = 1.4 / 3.5 = 0.4
    progress = st.progress_to_target(
        baseline=Decimal("13.5"), latest=Decimal("12.1"), target=10, unit="percent"
    )
    assert progress.share == pytest.approx(0.4)


def test_progress_away_from_target_is_words_not_negative_percent() -> None:
    # churn 13.5 → 17.7 with target 10: moved 4.2 points the wrong way
    progress = st.progress_to_target(
        baseline=Decimal("13.5"), latest=Decimal("17.7"), target=10, unit="percent"
    )
    assert progress.share is None and progress.away
    assert progress.reason == "4.2 points further from target than the baseline"
    # NPS 18 → −100, target 30: not "−983.3 %"
    nps = st.progress_to_target(baseline=18, latest=-100, target=30, unit="points")
    assert nps.reason == "118.0 points further from target than the baseline"


def test_progress_away_in_money_uses_currency() -> None:
    progress = st.progress_to_target(
        baseline=142, latest=150, target=120, unit="money", currency="EUR", word=""
    )
    assert progress.reason == "€8 further from target than the baseline"


def test_progress_past_target_is_reached_not_over_100() -> None:
    progress = st.progress_to_target(baseline=18, latest=33, target=30, unit="points")
    assert progress.share == 1.0 and progress.reached
    assert progress.reason == "3.0 points beyond target"


def test_progress_without_latest_or_target_says_why() -> None:
    assert st.progress_to_target(baseline=18, latest=None, target=30).reason == "no latest value yet"
    assert st.progress_to_target(baseline=None, latest=1, target=30).reason == "no baseline or target"
    assert st.progress_to_target(baseline=5, latest=1, target=5).reason == "target equals baseline"


def test_ces_sd_from_sums() -> None:
    # answers 1, 2, 3: mean 2, sample variance 1
    assert st.ces_sd_from_sums(n=3, total=6, total_sq=14) == pytest.approx(1.0)
    assert st.ces_sd_from_sums(n=1, total=3, total_sq=9) is None
