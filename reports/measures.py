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

from feedback.models import Response
from missions.models import SuccessMeasure
from missions.services import measure_actual_record_computed

from .metrics import metric_groups


def measure_responses(*, measure: SuccessMeasure):  # type: ignore[no-untyped-def]
    """The responses whose scores make up ``measure``."""
    scope = Q(program__success_measure=measure)
    department_ids = list(measure.scope_departments.values_list("id", flat=True))
    if department_ids:
        scope |= Q(department_id__in=department_ids)
    return Response.objects.filter(scope)


def measure_actuals_compute(*, measure: SuccessMeasure) -> int:
    """Record one computed actual per month with answers; returns how many months were written."""
    if not measure.is_cx_metric:
        return 0
    rows = metric_groups(responses=measure_responses(measure=measure), metric=measure.kind, group_by="month")
    written = 0
    for row in rows:
        if row["score"] is None:
            continue
        year, month = (int(part) for part in row["group"].split("-"))
        measure_actual_record_computed(measure=measure, on=dt.date(year, month, 1), value=row["score"])
        written += 1
    return written


def measure_actuals_compute_all() -> dict[str, int]:
    """Recompute every CX measure (idempotent: one row per measure and month)."""
    measures = SuccessMeasure.objects.filter(kind__in=list(SuccessMeasure.CX_KINDS))
    months = sum(measure_actuals_compute(measure=m) for m in measures)
    return {"cx_measures": measures.count(), "computed_actuals": months}
