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
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from charter.inbox import inbox_notify
from charter.models import User
from charter.roles import Role
from charter.selectors import department_ids_for

from .models import FinanceValidated, MeasureActual, MissionMoment, SuccessMeasure


def _require_leader(user: User) -> None:
    if not (user.is_cx_leader or user.is_superuser):
        raise PermissionDenied("Only CX leaders edit success measures.")


@dataclass(frozen=True)
class MeasureSaveResult:
    measure: SuccessMeasure
    validation_cleared: bool


def validation_can_give(user: User) -> bool:
    return bool(user.is_finance or user.is_superuser)


def validation_check_note(*, note: str, evidence_url: str = "") -> tuple[str, str]:
    """A validation says what finance checked; an evidence link, if any, is a web address."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what you checked: the note goes into the audit trail."})
    evidence_url = (evidence_url or "").strip()
    if evidence_url:
        URLValidator(schemes=["http", "https"])(evidence_url)
    return note, evidence_url


def validation_check_question(question: str) -> str:
    question = (question or "").strip()
    if not question:
        raise ValidationError({"question": "Ask the question the CX leader should answer."})
    return question


def validation_return_notify(*, title: str, kind_label: str, question: str, url: str, by: User) -> None:
    """Tell the CX leaders (inbox, and e-mail for those who want it) that finance returned a figure."""
    leaders = User.objects.filter(groups__name=Role.CX_LEADER.label, is_active=True).distinct()
    inbox_notify(
        users=list(leaders),
        kind="validation_returned",
        text=f"Finance returned {kind_label} “{title[:120]}” with a question",
        body=f"{by} asks: {question}\n\nAnswer by editing the figure; it then goes back to finance.",
        url=url,
        exclude=by,
    )


def validation_answer_notify(
    *, title: str, kind_label: str, finance: User | None, url: str, by: User
) -> None:
    """Tell the finance partner who asked that the CX leader answered: the figure is back in their queue."""
    if finance is None:
        return
    inbox_notify(
        users=[finance],
        kind="validation_answered",
        text=f"{by} answered your question on {kind_label} “{title[:120]}”",
        url=url,
        exclude=by,
    )


def meaning_changes(*, stored: FinanceValidated, new: dict[str, object]) -> list[str]:
    """The meaning fields whose value differs between the stored row and ``new``."""
    before = stored.meaning()
    return [name for name in stored.MEANING_FIELDS if name in new and new[name] != before[name]]


@transaction.atomic
def success_measure_save(
    *, measure: SuccessMeasure, by: User, scope_departments: list | None = None
) -> MeasureSaveResult:
    """Create or edit a measure. Any change to what a validated figure means (kind, unit,
    direction, baseline, target, owner, goal, whose feedback counts, money assumptions)
    clears finance's validation. A leader's edit answers finance's returned question: the
    measure goes back to the validation queue."""
    _require_leader(by)
    cleared = False
    if measure.pk is not None:
        stored = SuccessMeasure.objects.select_for_update().get(pk=measure.pk)
        new = {
            name: measure.meaning_value(name)
            for name in measure.MEANING_FIELDS
            if name != "scope_departments"
        }
        if scope_departments is not None:
            new["scope_departments"] = frozenset(d.pk for d in scope_departments)
        changed = meaning_changes(stored=stored, new=new)
        if changed and stored.validated_at is not None:
            measure.validation_clear()
            measure._change_reason = "Validation cleared: " + ", ".join(changed) + " changed"  # type: ignore[attr-defined]
            cleared = True
        if stored.returned_at is not None:
            measure.return_clear()
            validation_answer_notify(
                title=measure.name,
                kind_label="the success measure",
                finance=stored.returned_by,
                url=reverse("reports:validation-queue") + f"#measure-{measure.pk}",
                by=by,
            )
    if measure.pk is None and not measure.position:
        measure.position = (SuccessMeasure.objects.aggregate(p=Max("position"))["p"] or 0) + 1
    measure._history_user = by  # type: ignore[attr-defined]
    measure.full_clean()
    measure.save()
    if scope_departments is not None:
        measure.scope_departments.set(scope_departments)
    return MeasureSaveResult(measure, cleared)


@transaction.atomic
def success_measure_validate(
    *, measure: SuccessMeasure, by: User, note: str, evidence_url: str = ""
) -> SuccessMeasure:
    """Finance confirms the measure as it is now; who, when, the note and the evidence go
    into the audit trail."""
    if not validation_can_give(by):
        raise PermissionDenied("Only a finance partner validates a measure's figures.")
    note, evidence_url = validation_check_note(note=note, evidence_url=evidence_url)
    measure = SuccessMeasure.objects.select_for_update().get(pk=measure.pk)
    if measure.baseline_value is None or measure.baseline_date is None:
        raise ValidationError({"baseline_value": "Enter a baseline value and date before validating."})
    return finance_validation_record(figure=measure, by=by, note=note, evidence_url=evidence_url)


def finance_validation_record[F: FinanceValidated](*, figure: F, by: User, note: str, evidence_url: str) -> F:
    """Record finance's validation on a locked figure (a success measure or ROI assumptions):
    who, when, the note and the evidence, in its history too; an open question is answered."""
    figure.validated_by, figure.validated_at = by, timezone.now()
    figure.validation_note, figure.validation_evidence_url = note, evidence_url
    figure.return_clear()
    figure._history_user = by  # type: ignore[attr-defined]
    figure._change_reason = f"Validated by finance: {note}"[:100]  # type: ignore[attr-defined]
    figure.save(update_fields=[*FinanceValidated.VALIDATION_STATE_FIELDS])
    return figure


@transaction.atomic
def finance_figure_return[F: FinanceValidated](
    *, figure: F, by: User, question: str, title: str, kind_label: str, url: str
) -> F:
    """Finance sends a figure (a success measure or ROI assumptions) back with a question: the
    figure records who asked what and when, its history says so, and the CX leaders are told.
    The figure stays unvalidated until finance validates it. The caller checks the role."""
    question = validation_check_question(question)
    figure = type(figure).objects.select_for_update().get(pk=figure.pk)
    figure.returned_by, figure.returned_at, figure.return_question = by, timezone.now(), question
    figure._history_user = by  # type: ignore[attr-defined]
    figure._change_reason = f"Returned by finance: {question}"[:100]  # type: ignore[attr-defined]
    figure.save(update_fields=["returned_by", "returned_at", "return_question"])
    validation_return_notify(title=title, kind_label=kind_label, question=question, url=url, by=by)
    return figure


def success_measure_return(*, measure: SuccessMeasure, by: User, question: str) -> SuccessMeasure:
    """Finance sends the measure back with a question; the CX leader sees it on their home page."""
    if not validation_can_give(by):
        raise PermissionDenied("Only a finance partner returns a measure with a question.")
    return finance_figure_return(
        figure=measure,
        by=by,
        question=question,
        title=measure.name,
        kind_label="the success measure",
        url=reverse("missions:measure-detail", kwargs={"pk": measure.pk}),
    )


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
