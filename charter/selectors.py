"""Read queries for people and departments, and the one place that scopes by department.

Every selector in every app that returns department-owned rows goes through
``department_scope``: an ambassador or owner sees only their departments; CX leaders,
executives and superusers see all. Objects outside the scope are simply absent, so views
answer 404 (not 403) and existence does not leak.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q, QuerySet

from .models import Department, User


def department_ids_for(*, user: User) -> set[int] | None:
    """Ids of the departments ``user`` may see; ``None`` means all of them."""
    if not user.is_authenticated:
        return set()
    if user.sees_all_departments:
        return None
    cached = getattr(user, "_cxgov_department_ids", None)
    if cached is None:  # every page asks this: once per request, remembered on the user
        cached = set(
            Department.objects.filter(Q(members=user) | Q(ambassadors=user) | Q(leader=user)).values_list(
                "id", flat=True
            )
        )
        user._cxgov_department_ids = cached  # type: ignore[attr-defined]
    return cached


def department_scope[M: Model](qs: QuerySet[M], *, user: User, field: str = "department") -> QuerySet[M]:
    """Limit ``qs`` to rows whose ``field`` is a department ``user`` may see."""
    ids = department_ids_for(user=user)
    if ids is None:
        return qs
    return qs.filter(**{f"{field}__in": ids})


def department_list(*, user: User) -> QuerySet[Department]:
    return department_scope(Department.objects.all(), user=user, field="id").select_related("leader")


def department_get(*, user: User, slug: str) -> Department | None:
    return department_list(user=user).filter(slug=slug).first()


def department_ambassador_ids(*, user: User) -> set[int]:
    """Departments ``user`` is an ambassador of (may edit goals and triage)."""
    return set(user.ambassador_of.values_list("id", flat=True)) if user.is_authenticated else set()


# --- Governance (charter, goals, journey, maturity) ----------------------------------------------
# Governance documents are organisation-wide: every logged-in person reads them. Department goals
# follow the department scope above.

from dataclasses import dataclass, field  # noqa: E402

from django.db.models import Avg, Prefetch  # noqa: E402

from .models import (  # noqa: E402
    CharterRole,
    Decision,
    DepartmentGoal,
    GovernanceActivity,
    GovernanceMeeting,
    JourneyStage,
    MaturityAssessment,
    MaturityDimension,
    MaturityScore,
    MaturityStatement,
    Priority,
    RaciAssignment,
    Touchpoint,
)


@dataclass
class RaciRow:
    activity: GovernanceActivity
    values: list[str]
    roles: list[CharterRole] = field(repr=False, default_factory=list)

    @property
    def cells(self) -> list[tuple[CharterRole, str]]:
        return list(zip(self.roles, self.values, strict=True))


@dataclass
class CharterContents:
    roles: list[CharterRole]
    raci_rows: list[RaciRow]
    meetings: list[GovernanceMeeting]
    priorities: list[Priority]
    decisions: list[Decision]


def raci_matrix(*, roles: list[CharterRole] | None = None) -> list[RaciRow]:
    """Activities × roles, in three queries whatever the size of the matrix."""
    roles = roles if roles is not None else list(CharterRole.objects.all())
    cells = {(a.activity_id, a.role_id): a.value for a in RaciAssignment.objects.all()}
    return [
        RaciRow(activity=act, values=[cells.get((act.pk, r.pk), "") for r in roles], roles=roles)
        for act in GovernanceActivity.objects.all()
    ]


def priority_list() -> list[Priority]:
    return list(Priority.objects.select_related("department", "success_measure").order_by("rank", "id"))


def decision_list() -> list[Decision]:
    return list(Decision.objects.select_related("priority", "recorded_by"))


def charter_contents() -> CharterContents:
    roles = list(CharterRole.objects.all())
    return CharterContents(
        roles=roles,
        raci_rows=raci_matrix(roles=roles),
        meetings=list(GovernanceMeeting.objects.all()),
        priorities=priority_list(),
        decisions=decision_list(),
    )


def department_overview_list(*, user: User) -> QuerySet[Department]:
    """Departments in scope with their goals and ambassadors, in a constant number of queries."""
    return department_list(user=user).prefetch_related(
        Prefetch("goals", queryset=DepartmentGoal.objects.order_by("position", "id")), "ambassadors"
    )


def department_goal_get(*, user: User, pk: int) -> DepartmentGoal | None:
    """A goal the user may see (department scope); editing is checked by the service."""
    qs = department_scope(DepartmentGoal.objects.select_related("department"), user=user)
    return qs.filter(pk=pk).first()


def journey_stage_list() -> QuerySet[JourneyStage]:
    return JourneyStage.objects.prefetch_related(
        Prefetch(
            "touchpoints", queryset=Touchpoint.objects.select_related("department").order_by("position", "id")
        )
    )


@dataclass
class MaturityRow:
    assessment: MaturityAssessment
    levels: dict[str, float]  # dimension -> mean score

    @property
    def overall(self) -> float | None:
        return round(sum(self.levels.values()) / len(self.levels), 2) if self.levels else None


def maturity_trend() -> list[MaturityRow]:
    """Mean score per dimension per assessment, oldest first, computed in the database."""
    assessments = list(MaturityAssessment.objects.order_by("assessed_on"))
    levels: dict[int, dict[str, float]] = {a.pk: {} for a in assessments}
    rows = (
        MaturityScore.objects.values("assessment_id", "statement__dimension")
        .annotate(mean=Avg("score"))
        .order_by()
    )
    for row in rows:
        levels[row["assessment_id"]][row["statement__dimension"]] = round(float(row["mean"]), 2)
    return [MaturityRow(a, levels[a.pk]) for a in assessments]


def maturity_statements_by_dimension() -> list[tuple[str, str, list[MaturityStatement]]]:
    statements = list(MaturityStatement.objects.filter(is_active=True))
    return [
        (dim.value, dim.label, [s for s in statements if s.dimension == dim.value])
        for dim in MaturityDimension
    ]


@dataclass
class AuditEntry:
    when: Any
    who: Any
    kind: str
    label: str
    action: str
    fields: list[str]


def governance_audit(*, limit: int = 100) -> list[AuditEntry]:
    """Recent changes to the charter's live lists: who, when, what (one query per model).

    Changed fields come from comparing each record with the previous record of the same row,
    in memory, so the page does not run one query per line.
    """
    models_ = [
        (Priority, "Priority"), (RaciAssignment, "RACI cell"), (Decision, "Decision"),
        (CharterRole, "Role"), (GovernanceActivity, "Activity"), (GovernanceMeeting, "Meeting"),
        (DepartmentGoal, "Department goal"), (JourneyStage, "Journey stage"), (Touchpoint, "Touchpoint"),
    ]  # fmt: skip
    entries: list[AuditEntry] = []
    actions = {"+": "created", "~": "changed", "-": "deleted"}
    for model, kind in models_:
        records = list(
            model.history.select_related("history_user").order_by("-history_date", "-history_id")[:limit]
        )
        tracked = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        by_row: dict[int, list[Any]] = {}
        for record in reversed(records):  # oldest first
            by_row.setdefault(record.id, []).append(record)
        for rows in by_row.values():
            for prev, record in zip([None, *rows[:-1]], rows, strict=True):
                changed = (
                    [f for f in tracked if getattr(prev, f, None) != getattr(record, f, None)]
                    if prev is not None and record.history_type == "~"
                    else []
                )
                entries.append(
                    AuditEntry(record.history_date, record.history_user, kind,
                               _audit_label(record), actions.get(record.history_type, "?"), changed)
                )  # fmt: skip
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def _audit_label(record: Any) -> str:
    for attr in ("title", "name"):
        if getattr(record, attr, None):
            return str(getattr(record, attr))
    if hasattr(record, "value"):
        return f"activity {record.activity_id} × role {record.role_id} = {record.value}"
    return f"#{record.id}"


# --- the charter as a version records it ---------------------------------------------------------


@dataclass
class SnapshotCharter:
    """Roles, RACI, cadence and priorities as a version's snapshot records them (plain data)."""

    roles: list[dict[str, Any]]
    raci_rows: list[tuple[str, list[str]]]  # (activity, value per role, in ``roles`` order)
    meetings: list[dict[str, Any]]
    priorities: list[dict[str, Any]]


def charter_snapshot_contents(snapshot: dict[str, Any] | None) -> SnapshotCharter:
    snap = snapshot or {}
    roles = list(snap.get("roles", []))
    names = [r["name"] for r in roles]
    rows = [(row["activity"], [row["cells"].get(name, "") for name in names]) for row in snap.get("raci", [])]
    return SnapshotCharter(
        roles=roles,
        raci_rows=rows,
        meetings=list(snap.get("cadence", [])),
        priorities=list(snap.get("priorities", [])),
    )
