"""Write use-cases for the mission, the success statement, its measures and Mission Moments.

Document lifecycles live in ``charter.documents`` (shared by the charter). Here: success
measures (CX leaders edit, finance validates; editing a validated figure clears the
validation so the ROI report never shows an unvalidated number as validated), their
actuals, and moments (anyone submits, CX leaders feature).

Computed actuals: missions sits left of feedback and never imports it. The feedback side
(pipeline/reports) computes NPS/CSAT/CES per measure with DB aggregation over
``feedback.Response`` and records each value through ``measure_actual_record_computed``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from charter.models import User
from charter.selectors import department_ids_for

from .models import MeasureActual, MissionMoment, SuccessMeasure


def _require_leader(user: User) -> None:
    if not (user.is_cx_leader or user.is_superuser):
        raise PermissionDenied("Only CX leaders edit success measures.")


@dataclass(frozen=True)
class MeasureSaveResult:
    measure: SuccessMeasure
    validation_cleared: bool


@transaction.atomic
def success_measure_save(
    *, measure: SuccessMeasure, by: User, scope_departments: list | None = None
) -> MeasureSaveResult:
    """Create or edit a measure. A change to a validated figure clears finance's validation."""
    _require_leader(by)
    cleared = False
    if measure.pk is not None and measure.validated_at is not None:
        stored = SuccessMeasure.objects.select_for_update().get(pk=measure.pk)
        changed = [f for f in SuccessMeasure.VALIDATED_FIELDS if getattr(stored, f) != getattr(measure, f)]
        if changed:
            measure.validated_at = None
            measure.validated_by = None
            cleared = True
    if measure.pk is None and not measure.position:
        measure.position = (SuccessMeasure.objects.aggregate(p=Max("position"))["p"] or 0) + 1
    measure.full_clean()
    measure.save()
    if scope_departments is not None:
        measure.scope_departments.set(scope_departments)
    return MeasureSaveResult(measure, cleared)


@transaction.atomic
def success_measure_validate(*, measure: SuccessMeasure, by: User) -> SuccessMeasure:
    """Finance confirms baseline, target and money assumptions; records who and when."""
    if not (by.is_finance or by.is_superuser):
        raise PermissionDenied("Only a finance partner validates a measure's figures.")
    if measure.baseline_value is None or measure.baseline_date is None:
        raise ValidationError({"baseline_value": "Enter a baseline value and date before validating."})
    measure.validated_by, measure.validated_at = by, timezone.now()
    measure.save(update_fields=["validated_by", "validated_at"])
    return measure


@transaction.atomic
def success_measure_delete(*, measure: SuccessMeasure, by: User) -> None:
    _require_leader(by)
    if measure.priorities.exists():
        raise ValidationError({"measure": "A charter priority uses this measure; re-link it first."})
    measure.delete()


def _require_actual_editor(user: User) -> None:
    if not (user.is_cx_leader or user.is_finance or user.is_superuser):
        raise PermissionDenied("Only CX leaders and finance partners enter actuals.")


@transaction.atomic
def measure_actual_enter(
    *, measure: SuccessMeasure, on: dt.date, value: Decimal, by: User, note: str = ""
) -> MeasureActual:
    """Hand-entered actuals are for business measures; CX measures are computed from feedback.
    Entering a second value for the same date corrects the first (the audit trail keeps both)."""
    _require_actual_editor(by)
    if measure.is_cx_metric:
        raise ValidationError({"value": "This measure is computed from feedback; it is not entered by hand."})
    actual = (
        MeasureActual.objects.select_for_update()
        .filter(measure=measure, date=on, origin=MeasureActual.Origin.MANUAL)
        .first()
    ) or MeasureActual(measure=measure, date=on, origin=MeasureActual.Origin.MANUAL)
    if actual.pk is not None:
        actual._change_reason = (
            f"entered again: {note}" if note else "entered again"
        )  # simple-history's reason
    actual.value, actual.note, actual.entered_by = value, note, by
    actual.full_clean()
    actual.save()
    return actual


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the audit trail keeps the reason with the change."})
    return reason[:100]


@transaction.atomic
def measure_actual_correct(
    *, actual: MeasureActual, by: User, reason: str, value: Decimal | None = None, on: dt.date | None = None
) -> MeasureActual:
    """Correct an entered actual's value or date, with a reason; the audit trail keeps old → new."""
    _require_actual_editor(by)
    reason = _reason_required(reason)
    if actual.origin == MeasureActual.Origin.COMPUTED:
        raise ValidationError(
            {"value": "Computed actuals come from feedback; correct the responses instead."}
        )
    actual = MeasureActual.objects.select_for_update().select_related("measure").get(pk=actual.pk)
    if value is not None:
        actual.value = value
    if on is not None:
        actual.date = on
    actual.entered_by = by
    actual.full_clean()
    actual._change_reason = reason
    actual.save()
    return actual


@transaction.atomic
def measure_actual_delete(*, actual: MeasureActual, by: User, reason: str) -> None:
    """Delete an entered actual, with a reason (kept in the audit trail with the old value)."""
    _require_actual_editor(by)
    reason = _reason_required(reason)
    if actual.origin == MeasureActual.Origin.COMPUTED:
        raise ValidationError({"value": "Computed actuals come from feedback; they are not deleted by hand."})
    actual._change_reason = reason
    actual.delete()


@transaction.atomic
def measure_actual_record_computed(
    *,
    measure: SuccessMeasure,
    on: dt.date,
    value: Decimal | float,
    count: int | None = None,
    stats: dict | None = None,
) -> MeasureActual:
    """The hook the feedback side calls with a value it aggregated over a complete month;
    idempotent per (measure, date). ``count`` answers; ``stats`` the counts behind the value."""
    actual, _ = MeasureActual.objects.update_or_create(
        measure=measure,
        date=on,
        origin=MeasureActual.Origin.COMPUTED,
        defaults={"value": Decimal(str(round(float(value), 2))), "count": count, "stats": stats or {}},
    )
    return actual


def measure_actual_computed_prune(*, measure: SuccessMeasure, keep: set[dt.date]) -> int:
    """Drop computed actuals of months no longer computed (a month not over, or emptied)."""
    deleted, _ = (
        MeasureActual.objects.filter(measure=measure, origin=MeasureActual.Origin.COMPUTED)
        .exclude(date__in=keep)
        .delete()
    )
    return deleted


# --- Mission Moments ------------------------------------------------------------------------


@transaction.atomic
def moment_submit(*, moment: MissionMoment, by: User) -> MissionMoment:
    """Anyone logged in tells a story about a department they may see (a moment names the
    department it credits: nobody credits, or learns the existence of, another's); the
    touchpoint, if given, must be the department's."""
    visible = department_ids_for(user=by)
    if moment.department_id and visible is not None and moment.department_id not in visible:
        raise ValidationError({"department": "Choose one of your departments."})
    moment.submitted_by = by
    moment.featured_at = None
    moment.featured_by = None
    if (
        moment.touchpoint_id
        and moment.department_id
        and moment.touchpoint.department_id != moment.department_id
    ):
        raise ValidationError({"touchpoint": "Pick a touchpoint of the chosen department (or none)."})
    moment.full_clean()
    moment.save()
    return moment


@transaction.atomic
def moment_feature(*, moment: MissionMoment, featured: bool, by: User) -> MissionMoment:
    if not (by.is_cx_leader or by.is_superuser):
        raise PermissionDenied("Only CX leaders feature Mission Moments.")
    if featured and moment.featured_at is None:
        moment.featured_at, moment.featured_by = timezone.now(), by
    elif not featured:
        moment.featured_at, moment.featured_by = None, None
    moment.save(update_fields=["featured_at", "featured_by"])
    return moment
