"""Write use-cases for the charter: contents, RACI, priorities, goals, journey, maturity.

Permissions are checked here (views and API stay thin): CX leaders manage the charter and
the journey map; an ambassador edits only their own department's goals (others get
``Http404`` so existence does not leak); the steering committee (CX leaders, executives)
scores maturity.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Model
from django.http import Http404

from .documents import TransitionError, document_draft_create, document_submit
from .models import (
    CharterRole,
    CharterVersion,
    Decision,
    Department,
    DepartmentGoal,
    DocState,
    GovernanceActivity,
    GovernanceMeeting,
    MaturityAssessment,
    MaturityScore,
    MaturityStatement,
    Priority,
    Raci,
    RaciAssignment,
    User,
)


def require_governance(user: User) -> None:
    if not (user.is_cx_leader or user.is_superuser):
        raise PermissionDenied("Only CX leaders edit the charter, priorities and journey map.")


def require_steering(user: User) -> None:
    if not (user.is_cx_leader or user.is_executive or user.is_superuser):
        raise PermissionDenied("Only the steering committee (CX leaders, executives) scores maturity.")


# The live rows that are the working copy of the charter draft (see ``CharterVersion``).
CHARTER_CONTENT_MODELS: tuple[type[Model], ...] = (
    CharterRole,
    GovernanceActivity,
    GovernanceMeeting,
    Priority,
)


def charter_edit_begin(*, by: User) -> CharterVersion:
    """The draft an edit of the charter's lists goes to: the open draft, or a new one.

    While a version is in review its snapshot is what the executive is reading; changing the
    lists under it would make the approval cover something else, so edits wait (409) until
    it is approved or returned."""
    work = (
        CharterVersion.objects.select_for_update()
        .filter(state__in=[DocState.DRAFT, DocState.IN_REVIEW])
        .order_by("-number")
        .first()
    )
    if work is not None and work.state == DocState.IN_REVIEW:
        raise TransitionError(
            {"state": f"Charter version {work.number} is in review; edits can be made once an executive "
             "approves or returns it."},
            code="invalid_transition",
        )  # fmt: skip
    return work if work is not None else charter_draft_create(by=by)


def charter_edit_end(*, draft: CharterVersion) -> CharterVersion:
    """The draft's snapshot follows its working copy after every edit."""
    draft.snapshot = charter_snapshot()
    draft.save(update_fields=["snapshot", "updated_at"])
    return draft


def _decision_refuse(instance: Model, verb: str) -> None:
    if isinstance(instance, Decision) and instance.pk is not None:
        raise ValidationError(
            {"__all__": f"Decisions are records: an entry cannot be {verb}. Record a new decision that "
             "corrects or reverses it."}
        )  # fmt: skip


@transaction.atomic
def governance_record_save[M: Model](*, instance: M, by: User) -> M:
    """Save a charter row (role, activity, meeting, decision, stage, touchpoint) a CX leader edited.

    Roles, activities and meetings are charter content: the edit goes to the charter draft.
    Decisions are append-only records with who and when: a new one is saved, an existing one
    is never rewritten."""
    require_governance(by)
    if isinstance(instance, Decision):
        _decision_refuse(instance, "edited")
        instance.recorded_by = by
    draft = charter_edit_begin(by=by) if isinstance(instance, CHARTER_CONTENT_MODELS) else None
    instance.full_clean()
    instance.save()
    if draft is not None:
        charter_edit_end(draft=draft)
    return instance


@transaction.atomic
def governance_record_delete(*, instance: Model, by: User) -> None:
    require_governance(by)
    _decision_refuse(instance, "deleted")
    draft = charter_edit_begin(by=by) if isinstance(instance, CHARTER_CONTENT_MODELS) else None
    instance.delete()
    if draft is not None:
        charter_edit_end(draft=draft)


# --- RACI -------------------------------------------------------------------------------------


@transaction.atomic
def raci_cell_set(
    *, activity: GovernanceActivity, role: CharterRole, value: str, by: User
) -> RaciAssignment | None:
    """Set one cell (in the charter draft); an empty value removes the role from the activity."""
    require_governance(by)
    value = (value or "").strip().upper()
    if value and value not in Raci.values:
        raise ValidationError({"value": f"Choose one of R, A, C, I or blank (got {value[:5]!r})."})
    draft = charter_edit_begin(by=by)
    cell = _raci_cell_write(activity=activity, role=role, value=value)
    charter_edit_end(draft=draft)
    return cell


def _raci_cell_write(*, activity: GovernanceActivity, role: CharterRole, value: str) -> RaciAssignment | None:
    if not value:
        RaciAssignment.objects.filter(activity=activity, role=role).delete()
        return None
    if value == Raci.ACCOUNTABLE:
        clash = RaciAssignment.objects.filter(activity=activity, value=Raci.ACCOUNTABLE).exclude(role=role)
        if clash.exists():
            raise ValidationError(
                {"value": f"“{activity}” already has an accountable role; an activity has exactly one A."}
            )
    cell, _ = RaciAssignment.objects.select_for_update().get_or_create(
        activity=activity, role=role, defaults={"value": value}
    )
    if cell.value != value:
        cell.value = value
        cell.full_clean()
        cell.save(update_fields=["value"])
    return cell


RACI_CYCLE = ["", "R", "A", "C", "I"]


def raci_next(value: str) -> str:
    """What a click on a cell moves to: blank → R → A → C → I → blank."""
    return RACI_CYCLE[(RACI_CYCLE.index(value) + 1) % len(RACI_CYCLE)] if value in RACI_CYCLE else ""


# --- Priorities -------------------------------------------------------------------------------


@transaction.atomic
def priority_save(*, priority: Priority, by: User) -> Priority:
    """New priorities go to the bottom of the ranking (of the charter draft)."""
    require_governance(by)
    draft = charter_edit_begin(by=by)
    if priority.pk is None:
        priority.rank = (Priority.objects.aggregate(r=Max("rank"))["r"] or 0) + 1
    priority.full_clean()
    priority.save()
    charter_edit_end(draft=draft)
    return priority


def _renumber(ordered: list[Priority]) -> None:
    for rank, item in enumerate(ordered, start=1):
        if item.rank != rank:
            item.rank = rank
            item.save(update_fields=["rank"])


@transaction.atomic
def priority_move(*, priority: Priority, direction: str, by: User) -> list[Priority]:
    """Swap with the neighbour above or below; ranks are always 1..n without gaps."""
    require_governance(by)
    if direction not in ("up", "down", "top", "bottom"):
        raise ValidationError({"direction": "Use up, down, top or bottom."})
    draft = charter_edit_begin(by=by)
    ordered = list(Priority.objects.select_for_update().order_by("rank", "id"))
    index = next((i for i, p in enumerate(ordered) if p.pk == priority.pk), None)
    if index is None:
        raise Http404("No such priority")
    item = ordered.pop(index)
    target = {"up": max(index - 1, 0), "down": min(index + 1, len(ordered)), "top": 0, "bottom": len(ordered)}
    ordered.insert(target[direction], item)
    _renumber(ordered)
    charter_edit_end(draft=draft)
    return ordered


@transaction.atomic
def priority_reorder(*, order: list[int], by: User) -> list[Priority]:
    """Set the whole ranking at once (drag and drop, API); ``order`` must name every priority."""
    require_governance(by)
    ordered = {p.pk: p for p in Priority.objects.select_for_update()}
    if len(order) != len(set(order)) or set(order) != set(ordered):
        raise ValidationError({"order": "List every priority id exactly once."})
    draft = charter_edit_begin(by=by)
    result = [ordered[pk] for pk in order]
    _renumber(result)
    charter_edit_end(draft=draft)
    return result


# --- Charter versions -------------------------------------------------------------------------


def charter_snapshot() -> dict[str, Any]:
    """The charter's working lists (roles, RACI, cadence, ranked priorities) as plain data: what
    a version records, and what its page, PDF and API show once published."""
    from .selectors import charter_contents

    c = charter_contents()
    return {
        "roles": [
            {"name": r.name, "responsibilities": r.responsibilities, "accountabilities": r.accountabilities}
            for r in c.roles
        ],
        "raci": [
            {
                "activity": row.activity.name,
                "cells": {role.name: v for role, v in zip(c.roles, row.values, strict=True)},
            }
            for row in c.raci_rows
        ],
        "cadence": [
            {
                "name": m.name,
                "frequency": m.get_frequency_display(),
                "attendees": m.attendees,
                "purpose": m.purpose,
            }
            for m in c.meetings
        ],
        "priorities": [
            {
                "rank": p.rank,
                "title": p.title,
                "department": p.department.name,
                "measure": p.success_measure.name,
                "description": p.description,
            }
            for p in c.priorities
        ],
    }


def charter_prepare(doc: CharterVersion) -> None:
    doc.snapshot = charter_snapshot()


def charter_draft_create(*, by: User, fields: dict[str, Any] | None = None) -> CharterVersion:
    return document_draft_create(model=CharterVersion, by=by, fields=fields, prepare=charter_prepare)


def charter_submit(*, doc: CharterVersion, by: User) -> CharterVersion:
    return document_submit(doc=doc, by=by, prepare=charter_prepare)


# --- Department goals ---------------------------------------------------------------------------


def goal_can_edit(*, user: User, department: Department) -> bool:
    if user.is_cx_leader or user.is_superuser:
        return True
    return user.ambassador_of.filter(pk=department.pk).exists()


@transaction.atomic
def department_goal_save(*, goal: DepartmentGoal, by: User) -> DepartmentGoal:
    """Ambassadors edit their own department's goals only; anything else looks absent (404)."""
    if not goal_can_edit(user=by, department=goal.department):
        raise Http404("No such department goal in your scope")
    if goal.pk is not None:
        stored = DepartmentGoal.objects.filter(pk=goal.pk).values_list("department_id", flat=True).first()
        if (
            stored is not None
            and stored != goal.department_id
            and not goal_can_edit(user=by, department=Department.objects.get(pk=stored))
        ):
            raise Http404("No such department goal in your scope")
    elif not goal.position:
        goal.position = (goal.department.goals.aggregate(p=Max("position"))["p"] or 0) + 1
    goal.full_clean()
    goal.save()
    return goal


@transaction.atomic
def department_goal_delete(*, goal: DepartmentGoal, by: User) -> None:
    if not goal_can_edit(user=by, department=goal.department):
        raise Http404("No such department goal in your scope")
    goal.delete()


# --- Maturity -----------------------------------------------------------------------------------


@transaction.atomic
def maturity_assessment_record(
    *, assessment: MaturityAssessment, scores: dict[int, int], by: User
) -> MaturityAssessment:
    """Save an assessment with a 1–5 score for every active statement."""
    require_steering(by)
    statements = {s.pk: s for s in MaturityStatement.objects.filter(is_active=True)}
    missing = [s.text for pk, s in statements.items() if pk not in scores]
    errors: dict[str, list[str]] = {}
    if missing:
        errors["scores"] = [f"Score every statement (missing: {', '.join(missing[:3])}…)."]
    bad = [pk for pk, v in scores.items() if pk in statements and not (isinstance(v, int) and 1 <= v <= 5)]
    if bad:
        errors.setdefault("scores", []).append("Scores are whole numbers from 1 to 5.")
    if errors:
        raise ValidationError(errors)
    if assessment.created_by_id is None:
        assessment.created_by = by
    assessment.full_clean()
    assessment.save()
    for pk, statement in statements.items():
        MaturityScore.objects.update_or_create(
            assessment=assessment, statement=statement, defaults={"score": scores[pk]}
        )
    return assessment
