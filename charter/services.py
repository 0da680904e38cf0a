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

from .documents import document_draft_create, document_submit
from .models import (
    CharterRole,
    CharterVersion,
    Decision,
    Department,
    DepartmentGoal,
    GovernanceActivity,
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


@transaction.atomic
def governance_record_save[M: Model](*, instance: M, by: User) -> M:
    """Save a charter row (role, activity, meeting, decision, stage, touchpoint) a CX leader edited."""
    require_governance(by)
    if isinstance(instance, Decision) and instance.recorded_by_id is None:
        instance.recorded_by = by
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def governance_record_delete(*, instance: Model, by: User) -> None:
    require_governance(by)
    instance.delete()


# --- RACI -------------------------------------------------------------------------------------


@transaction.atomic
def raci_cell_set(
    *, activity: GovernanceActivity, role: CharterRole, value: str, by: User
) -> RaciAssignment | None:
    """Set one cell; an empty value removes the role from the activity."""
    require_governance(by)
    value = (value or "").strip().upper()
    if value and value not in Raci.values:
        raise ValidationError({"value": f"Choose one of R, A, C, I or blank (got {value[:5]!r})."})
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
    """New priorities go to the bottom of the ranking."""
    require_governance(by)
    if priority.pk is None:
        priority.rank = (Priority.objects.aggregate(r=Max("rank"))["r"] or 0) + 1
    priority.full_clean()
    priority.save()
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
    ordered = list(Priority.objects.select_for_update().order_by("rank", "id"))
    index = next((i for i, p in enumerate(ordered) if p.pk == priority.pk), None)
    if index is None:
        raise Http404("No such priority")
    item = ordered.pop(index)
    target = {"up": max(index - 1, 0), "down": min(index + 1, len(ordered)), "top": 0, "bottom": len(ordered)}
    ordered.insert(target[direction], item)
    _renumber(ordered)
    return ordered


@transaction.atomic
def priority_reorder(*, order: list[int], by: User) -> list[Priority]:
    """Set the whole ranking at once (drag and drop, API); ``order`` must name every priority."""
    require_governance(by)
    ordered = {p.pk: p for p in Priority.objects.select_for_update()}
    if len(order) != len(set(order)) or set(order) != set(ordered):
        raise ValidationError({"order": "List every priority id exactly once."})
    result = [ordered[pk] for pk in order]
    _renumber(result)
    return result


# --- Charter versions -------------------------------------------------------------------------


def charter_snapshot() -> dict[str, Any]:
    """What the approved charter says about roles, RACI, cadence and priorities right now."""
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
            {"name": m.name, "frequency": m.get_frequency_display(), "attendees": m.attendees}
            for m in c.meetings
        ],
        "priorities": [
            {
                "rank": p.rank,
                "title": p.title,
                "department": p.department.name,
                "measure": p.success_measure.name,
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
