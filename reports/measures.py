"""Actuals of the CX success measures, computed from feedback.

A CX measure (NPS, CSAT, CES) counts the responses of the programs that say they inform it
(``Program.success_measure``) and of the departments it is scoped to. Each month's score is
recorded as a computed ``MeasureActual`` dated the first of the month, so the success statement
shows the same figure the metrics API gives for that month. Missions may not import feedback,
so this lives here, to the right of both, and calls missions' hook.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from feedback.models import Response
from missions.models import SuccessMeasure
from missions.services import measure_actual_computed_prune, measure_actual_record_computed

from .metrics import metric_groups


def measure_responses(*, measure: SuccessMeasure):  # type: ignore[no-untyped-def]
    """The responses whose scores make up ``measure``."""
    scope = Q(program__success_measure=measure)
    department_ids = list(measure.scope_departments.values_list("id", flat=True))
    if department_ids:
        scope |= Q(department_id__in=department_ids)
    return Response.objects.filter(scope)


_STATS_KEYS = {
    "nps": ("promoters", "passives", "detractors", "margin_of_error"),
    "csat": ("satisfied", "margin_of_error"),
    "ces": ("sd", "ci_low", "ci_high"),
}


def measure_actuals_compute(*, measure: SuccessMeasure, today: dt.date | None = None) -> int:
    """Record one computed actual per *complete* month with answers, with its count and the
    counts a significance test needs; a month not over yet is not an actual (and one recorded
    earlier is removed). Returns how many months were written."""
    if not measure.is_cx_metric:
        return 0
    today = today or timezone.now().date()
    rows = metric_groups(responses=measure_responses(measure=measure), metric=measure.kind, group_by="month")
    written = 0
    keep: set[dt.date] = set()
    for row in rows:
        year, month = (int(part) for part in row["group"].split("-"))
        first = dt.date(year, month, 1)
        if row["score"] is None or (year, month) >= (today.year, today.month):
            continue
        stats = {key: row.get(key) for key in _STATS_KEYS[measure.kind]}
        measure_actual_record_computed(
            measure=measure, on=first, value=row["score"], count=row["count"], stats=stats
        )
        keep.add(first)
        written += 1
    measure_actual_computed_prune(measure=measure, keep=keep)
    return written


def measure_actuals_compute_all() -> dict[str, int]:
    """Recompute every CX measure (idempotent: one row per measure and month)."""
    measures = SuccessMeasure.objects.filter(kind__in=list(SuccessMeasure.CX_KINDS))
    months = sum(measure_actuals_compute(measure=m) for m in measures)
    return {"cx_measures": measures.count(), "computed_actuals": months}
