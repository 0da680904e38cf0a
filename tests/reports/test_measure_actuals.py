"""CX success measures get their actuals from feedback, month by month, like the metrics API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from missions.models import MeasureActual, SuccessMeasure
from reports.measures import measure_actuals_compute, measure_actuals_compute_all
from tests.factories import ProgramFactory, ResponseFactory, SourceFactory, SuccessMeasureFactory

pytestmark = pytest.mark.django_db


def _nps(source, when: dt.datetime, score: int) -> None:  # type: ignore[no-untyped-def]
    band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    ResponseFactory(source=source, submitted_at=when, nps=score, nps_band=band)


def test_nps_measure_records_one_actual_per_month_from_its_programs_responses() -> None:
    measure = SuccessMeasureFactory(kind=SuccessMeasure.Kind.NPS)
    source = SourceFactory(program=ProgramFactory(success_measure=measure))
    october = timezone.make_aware(dt.datetime(2026, 10, 5))
    november = timezone.make_aware(dt.datetime(2026, 11, 5))
    for score in (10, 9, 3, 8):  # 2 promoters, 1 detractor, 1 passive of 4 -> NPS 25
        _nps(source, october, score)
    for score in (2, 2, 9):  # 1 promoter, 2 detractors of 3 -> NPS -33.3
        _nps(source, november, score)
    _nps(SourceFactory(), october, 0)  # another program's response does not count

    assert measure_actuals_compute(measure=measure) == 2
    actuals = {a.date: a.value for a in MeasureActual.objects.filter(measure=measure, origin="computed")}
    assert actuals == {dt.date(2026, 10, 1): Decimal("25.00"), dt.date(2026, 11, 1): Decimal("-33.30")}


def test_recomputing_updates_instead_of_adding_rows() -> None:
    measure = SuccessMeasureFactory(kind=SuccessMeasure.Kind.NPS)
    source = SourceFactory(program=ProgramFactory(success_measure=measure))
    when = timezone.make_aware(dt.datetime(2026, 10, 5))
    _nps(source, when, 10)
    measure_actuals_compute_all()
    _nps(source, when, 0)
    measure_actuals_compute_all()
    assert list(MeasureActual.objects.filter(measure=measure).values_list("value", flat=True)) == [
        Decimal("0.00")
    ]


def test_business_measures_are_left_to_people() -> None:
    measure = SuccessMeasureFactory(kind=SuccessMeasure.Kind.CHURN)
    assert measure_actuals_compute(measure=measure) == 0
    assert not MeasureActual.objects.filter(measure=measure).exists()
