import pytest

from feedback.scoring import ScaleError, band_for, score_validate


@pytest.mark.parametrize(
    ("value", "band"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"), (10, "promoter")],
)
def test_nps_bands_follow_the_standard_cutoffs(value: int, band: str) -> None:
    assert band_for(metric="nps", value=value) == band


@pytest.mark.parametrize(
    ("value", "band"), [(1, "low"), (2, "low"), (3, "neutral"), (4, "high"), (5, "high")]
)
def test_csat_bands_on_five_points(value: int, band: str) -> None:
    assert band_for(metric="csat", value=value) == band


@pytest.mark.parametrize(
    ("value", "band"),
    [(1, "low_effort"), (3, "low_effort"), (4, "neutral"), (5, "high_effort"), (7, "high_effort")],
)
def test_ces_bands_on_seven_points(value: int, band: str) -> None:
    assert band_for(metric="ces", value=value) == band


def test_csat_top_two_boxes_on_a_seven_point_scale() -> None:
    assert band_for(metric="csat", value=6, scale=(1, 7)) == "high"
    assert band_for(metric="csat", value=5, scale=(1, 7)) == "neutral"


@pytest.mark.parametrize("value", [11, -1, "eleven", 3.5, None, True, ""])
def test_out_of_scale_or_non_integer_scores_are_refused(value: object) -> None:
    with pytest.raises(ScaleError):
        score_validate(metric="nps", value=value)


def test_numeric_strings_are_accepted() -> None:
    assert score_validate(metric="csat", value=" 4 ") == 4
    assert score_validate(metric="nps", value="10") == 10
