"""Read queries for people and departments, and the one place that scopes by department.

Every selector in every app that returns department-owned rows goes through
``department_scope``: an ambassador or owner sees only their departments; CX leaders,
executives and superusers see all. Objects outside the scope are simply absent, so views
answer 404 (not 403) and existence does not leak.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet

from .models import Department, User


def department_ids_for(*, user: User) -> set[int] | None:
    """Ids of the departments ``user`` may see; ``None`` means all of them."""
    if not user.is_authenticated:
        return set()
    if user.sees_all_departments:
        return None
    cached = getattr(user, "_cxgov_department_ids", None)
    if cached is None:
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
