"""Read queries for missions: measures with their latest actuals, and Mission Moments.

``moment_featured_list`` is what the dashboard and the executive report show.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from .measure_status import measure_status
from .models import MeasureActual, MissionMoment, SuccessMeasure


def success_measure_list() -> QuerySet[SuccessMeasure]:
    """Measures with owner, goal, validator and actuals (oldest first), in a constant query count."""
    return SuccessMeasure.objects.select_related(
        "owner_department", "department_goal", "validated_by"
    ).prefetch_related(
        "scope_departments",
        Prefetch(
            "actuals", queryset=MeasureActual.objects.select_related("entered_by").order_by("date", "origin")
        ),
    )


def success_measures_with_status(*, today: dt.date | None = None) -> list[SuccessMeasure]:
    """``success_measure_list`` with each measure's ``status`` (latest value, progress)."""
    measures = list(success_measure_list())
    for measure in measures:
        measure.status = measure_status(measure, today=today)
        measure.progress = measure.status.progress
    return measures


def success_measure_get(*, pk: int) -> SuccessMeasure | None:
    return success_measure_list().filter(pk=pk).first()


def moment_list(*, featured: bool | None = None) -> QuerySet[MissionMoment]:
    qs = MissionMoment.objects.select_related("department", "touchpoint", "submitted_by", "featured_by")
    if featured is True:
        qs = qs.filter(featured_at__isnull=False)
    elif featured is False:
        qs = qs.filter(featured_at__isnull=True)
    return qs


def moment_featured_list(*, limit: int | None = 5) -> list[MissionMoment]:
    """Featured moments, most recently featured first (dashboard card, executive report)."""
    qs = moment_list(featured=True).order_by("-featured_at", "-id")
    return list(qs[:limit] if limit else qs)
