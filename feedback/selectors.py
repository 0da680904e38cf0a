"""Read queries for programs, sources, responses and imports, scoped to the user.

Every list here is one query (or a fixed handful) whatever the number of rows: flags and
counts are computed in the database, joins are selected up front. Responses are scoped by
their department through ``charter.selectors.department_scope``; objects out of scope are
absent, so views answer 404.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from charter.models import User
from charter.selectors import department_ids_for, department_scope

from .models import ActionItem, Customer, ImportJob, Insight, Program, Response, Source

STALE_AFTER_DAYS = 90


def can_manage_programs(user: User) -> bool:
    """CX leaders (and staff, the operators) set up programs and sources."""
    return bool(
        user.is_authenticated
        and (
            user.is_superuser
            or user.is_staff
            or user.is_cx_leader
            or user.has_perm("feedback.manage_programs")
        )
    )


def program_list(*, user: User) -> QuerySet[Program]:
    """Programs with the flags the list shows, all computed in one query.

    Flags: ``flag_no_purpose`` (no purpose text or nothing it informs), ``flag_stale`` (no
    response in the last 90 days), ``flag_no_action`` (responses but no action ever taken).
    """
    since = timezone.now() - timedelta(days=STALE_AFTER_DAYS)
    responses = Response.objects.filter(program=OuterRef("pk"))
    inner_actions = ActionItem.objects.filter(response__program=OuterRef("pk"))
    systemic = Insight.objects.filter(response__program=OuterRef("pk"), systemic_action__isnull=False)
    count_sq = (
        Response.objects.filter(program=OuterRef("pk"))
        .order_by()
        .values("program")
        .annotate(n=Count("id"))
        .values("n")
    )
    qs = (
        Program.objects.select_related(
            "department", "success_measure", "department_goal__department", "touchpoint"
        )
        .annotate(
            response_count=Coalesce(Subquery(count_sq, output_field=IntegerField()), Value(0)),
            last_response_at=Subquery(responses.order_by("-submitted_at").values("submitted_at")[:1]),
            has_recent=Exists(responses.filter(submitted_at__gte=since)),
            has_responses=Exists(responses),
            has_action=Exists(inner_actions) | Exists(systemic),
            source_count=Count("sources", distinct=True),
        )
        .annotate(
            flag_no_purpose=ExpressionWrapper(
                Q(purpose__regex=r"^\s*$") | Q(success_measure__isnull=True, department_goal__isnull=True),
                output_field=BooleanField(),
            ),
            flag_stale=ExpressionWrapper(~Q(has_recent=True), output_field=BooleanField()),
            flag_no_action=ExpressionWrapper(
                Q(has_responses=True) & ~Q(has_action=True), output_field=BooleanField()
            ),
        )
    )
    return department_scope(qs, user=user).order_by("name")


def program_get(*, user: User, slug: str) -> Program | None:
    return (
        department_scope(
            Program.objects.select_related(
                "department", "success_measure", "department_goal__department", "touchpoint"
            ),
            user=user,
        )
        .filter(slug=slug)
        .first()
    )


def source_list(*, program: Program | None = None, user: User | None = None) -> QuerySet[Source]:
    """Sources with their program and counts (never their secrets in templates/API)."""
    qs = Source.objects.select_related("program", "program__department").annotate(
        response_count=Count("responses", distinct=True),
        last_delivery_at=Max("deliveries__received_at"),
    )
    if program is not None:
        qs = qs.filter(program=program)
    if user is not None:
        qs = department_scope(qs, user=user, field="program__department")
    return qs.order_by("program__name", "name")


def source_get(*, user: User, slug: str) -> Source | None:
    return (
        department_scope(
            Source.objects.select_related("program", "program__department"),
            user=user,
            field="program__department",
        )
        .filter(slug=slug)
        .first()
    )


def _as_datetime(value: Any, *, end: bool = False) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        moment = datetime.combine(value, time.max if end else time.min)
        return timezone.make_aware(moment)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) <= 10:  # a bare date
        parsed = datetime.combine(parsed.date(), time.max if end else time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def response_list(
    *,
    user: User,
    program: str | None = None,
    source: str | None = None,
    band: str | None = None,
    date_from: Any = None,
    date_to: Any = None,
    department: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[Response]:
    """Responses the user may see, filtered; joins for a list page (constant queries)."""
    qs = department_scope(
        Response.objects.select_related("source", "program", "department", "customer", "touchpoint"),
        user=user,
    )
    if program:
        qs = qs.filter(program__slug=program)
    if source:
        qs = qs.filter(source__slug=source)
    if band:
        qs = qs.filter(Q(nps_band=band) | Q(csat_band=band) | Q(ces_band=band))
    start = _as_datetime(date_from)
    if start is not None:
        qs = qs.filter(submitted_at__gte=start)
    stop = _as_datetime(date_to, end=True)
    if stop is not None:
        qs = qs.filter(submitted_at__lte=stop)
    if department:
        qs = qs.filter(department__slug=department)
    if status:
        qs = qs.filter(status=status)
    if q and q.strip():
        qs = _comment_search(qs, q.strip())
    return qs.order_by("-submitted_at", "-id")


def _comment_search(qs: QuerySet[Response], q: str) -> QuerySet[Response]:
    """PostgreSQL full-text search (stemmed, English) in real mode; a substring match on SQLite."""
    if settings.IS_POSTGRES:
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return qs.annotate(_search=SearchVector("comment", config="english")).filter(
            _search=SearchQuery(q, config="english", search_type="websearch")
        )
    return qs.filter(comment__icontains=q)


def customer_visible_list(*, user: User) -> QuerySet[Customer]:
    """The one rule for which customers a user may learn about: those with a response in a
    department the user may see (everyone, for those who see all departments). Manual entry
    links only to these, so typing another department's customer's e-mail or id neither
    reveals nor links them (DESIGN: department scoping)."""
    qs = Customer.objects.filter(erased_at=None)
    ids = department_ids_for(user=user)
    if ids is None:
        return qs
    behind = Response.objects.filter(department__in=ids, customer__isnull=False).values("customer_id")
    return qs.filter(id__in=behind)


def response_get(*, user: User, response_id: int) -> Response | None:
    return (
        department_scope(
            Response.objects.select_related(
                "source", "program", "department", "customer", "touchpoint", "entered_by"
            ),
            user=user,
        )
        .filter(id=response_id)
        .prefetch_related("themes")
        .first()
    )


def import_job_get(*, user: User, job_id: int) -> ImportJob | None:
    return (
        department_scope(
            ImportJob.objects.select_related("source", "source__program"),
            user=user,
            field="source__program__department",
        )
        .filter(id=job_id)
        .first()
    )


def import_job_list(*, source: Source) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(source=source).select_related("created_by").order_by("-created_at")
