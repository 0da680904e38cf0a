"""Read queries for the triage inbox, the action page, "my actions" and the systemic board.

Scope: an action is visible when its department is in ``department_scope`` for the user, or
when the user owns it (an owner works their own actions across departments). Anything else
is absent, so views answer 404 and existence does not leak.

Every function here runs a fixed number of queries whatever the number of rows: joins with
``select_related``, counts with one conditional aggregate, sparkline points with one
``GROUP BY`` — the inbox must stay fast with 100k actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncWeek
from django.utils import timezone

from charter.models import Department, User
from charter.roles import Role
from charter.selectors import department_ids_for, department_scope

from ..models import (
    ActionComment,
    ActionItem,
    ActionReopening,
    ContactLog,
    Insight,
    Loop,
    Priority,
    ResolutionOutcome,
)

S = ActionItem.Status
OPEN = sorted(ActionItem.OPEN_STATUSES)
CLOSED = sorted(ActionItem.CLOSED_STATUSES)

PRIORITY_RANK = Case(
    When(priority=Priority.URGENT, then=Value(0)),
    When(priority=Priority.HIGH, then=Value(1)),
    When(priority=Priority.NORMAL, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)

SORTS: dict[str, tuple[str, ...]] = {
    "due": ("due_at", "id"),
    "-due": ("-due_at", "-id"),
    "priority": ("priority_rank", "due_at", "id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "status": ("status", "due_at", "id"),
}

TABS: list[tuple[str, str]] = [
    ("open", "Open"),
    ("new", "New"),
    ("mine", "Mine"),
    ("overdue", "Overdue"),
    ("waiting", "Waiting on customer"),
    ("systemic", "Systemic"),
    ("snoozed", "Snoozed"),
    ("closed", "Closed"),
]


# --- who may do what ------------------------------------------------------------------------


def ambassador_department_ids(*, user: User) -> set[int]:
    """Departments ``user`` is an ambassador of, fetched once per request (cached on the user)."""
    cached: set[int] | None = getattr(user, "_cxgov_ambassador_ids", None)
    if cached is None:
        cached = set()
        if user.is_authenticated:
            cached = set(Department.objects.filter(ambassadors=user).values_list("id", flat=True))
        user._cxgov_ambassador_ids = cached  # type: ignore[attr-defined]
    return cached


def can_triage(*, user: User) -> bool:
    """The inbox is for ambassadors, CX leaders and executives (read-only)."""
    if not user.is_authenticated:
        return False
    return user.sees_all_departments or bool(ambassador_department_ids(user=user))


def is_read_only(*, user: User) -> bool:
    """Executives read everything and change nothing (unless they also lead CX)."""
    return not (user.is_superuser or user.is_cx_leader) and user.is_executive


def can_edit(*, user: User, action: ActionItem, ambassador_ids: set[int] | None = None) -> bool:
    """CX leaders, the department's ambassadors and the action's owner may change it."""
    return action_editor(user=user, ambassador_ids=ambassador_ids)(action)


def action_editor(*, user: User, ambassador_ids: set[int] | None = None) -> Callable[[Any], bool]:
    """``can_edit`` for many actions of one user: the user's side of the rule is read once
    (``request.user`` is a lazy proxy; fifty rows asking it for roles cost ~0.6 ms). The
    ambassador departments are still fetched only when a row needs them."""
    if user.is_superuser or user.is_cx_leader:
        return lambda action: True
    pk = user.pk
    ids = ambassador_ids

    def editable(action: Any) -> bool:
        nonlocal ids
        if action.owner_id == pk:
            return True
        if ids is None:
            ids = ambassador_department_ids(user=user)
        return action.department_id in ids

    return editable


# --- scoping ------------------------------------------------------------------------------


def action_item_scope(*, user: User) -> QuerySet[ActionItem]:
    """Every action ``user`` may see: their departments' (``department_scope``) plus their own."""
    base = ActionItem.objects.all()
    if department_ids_for(user=user) is None:
        return base
    return department_scope(base, user=user) | base.filter(owner=user)


def action_item_get(*, user: User, pk: int) -> ActionItem | None:
    """One action with what its page shows, or ``None`` when out of scope (→ 404)."""
    return (
        action_item_scope(user=user)
        .filter(pk=pk)
        .select_related(
            "owner",
            "department",
            "theme",
            "success_measure",
            "response__customer",
            "response__source",
            "response__program",
            "response__touchpoint",
            "response__insight__systemic_action__owner",
        )
        .first()
    )


# --- the inbox -------------------------------------------------------------------------------


@dataclass
class InboxFilters:
    """Parsed, validated inbox query (what the URL carries)."""

    tab: str = "open"
    q: str = ""
    status: str = ""
    loop: str = ""
    priority: str = ""
    theme: int | None = None
    owner: int | None = None
    program: int | None = None
    source: int | None = None
    touchpoint: int | None = None
    department: int | None = None
    date_from: Any = None
    date_to: Any = None
    sort: str = "due"
    extra: dict[str, Any] = field(default_factory=dict)


def _tab_q(tab: str, *, user: User, now: datetime) -> Q:
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)
    open_ = Q(status__in=OPEN)
    return {
        "open": open_ & awake,
        "new": Q(status=S.NEW) & awake,
        "mine": open_ & Q(owner=user),
        "overdue": open_ & Q(due_at__lt=now),
        "waiting": Q(status=S.WAITING),
        "systemic": Q(loop=Loop.OUTER) & open_,
        "snoozed": open_ & Q(snoozed_until__gt=now),
        "closed": Q(status__in=CLOSED),
    }.get(tab, open_ & awake)


def _open_tab_q(tab: str, *, user: User, now: datetime) -> Q:
    """``_tab_q`` for a row already known to be open: the same rows, without testing the
    status list again (the tab-count aggregate evaluates these for every open action)."""
    awake = Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)
    return {
        "open": awake,
        "new": Q(status=S.NEW) & awake,
        "mine": Q(owner=user),
        "overdue": Q(due_at__lt=now),
        "waiting": Q(status=S.WAITING),
        "systemic": Q(loop=Loop.OUTER),
        "snoozed": Q(snoozed_until__gt=now),
    }[tab]


def _search(qs: QuerySet[ActionItem], q: str) -> QuerySet[ActionItem]:
    """PostgreSQL full-text on the customer's comment (stemmed); substring match on SQLite."""
    if connection.vendor == "postgresql":
        return qs.filter(Q(response__comment__search=q) | Q(title__icontains=q))
    return qs.filter(Q(response__comment__icontains=q) | Q(title__icontains=q))


def inbox_base(*, user: User, mine_only: bool = False) -> QuerySet[ActionItem]:
    """Triage sees the departments in scope; "my actions" sees what the user owns anywhere."""
    if mine_only:
        return ActionItem.objects.filter(owner=user)
    return department_scope(ActionItem.objects.all(), user=user)


def inbox_filter(qs: QuerySet[ActionItem], f: InboxFilters) -> QuerySet[ActionItem]:
    """Apply everything but the tab, so tab counts reflect the other filters."""
    if f.q:
        qs = _search(qs, f.q)
    simple = {
        "status": f.status,
        "loop": f.loop,
        "priority": f.priority,
        "theme_id": f.theme,
        "owner_id": f.owner,
        "response__program_id": f.program,
        "response__source_id": f.source,
        "response__touchpoint_id": f.touchpoint,
        "department_id": f.department,
    }
    qs = qs.filter(**{k: v for k, v in simple.items() if v not in (None, "")})
    if f.date_from:
        qs = qs.filter(created_at__date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(created_at__date__lte=f.date_to)
    return qs


# What one inbox row shows (and ``sla_badge``/``can_edit`` read), for ``only()``: the wide
# columns (response answers, source secrets and credentials, password hashes) stay in the database.
ROW_COLUMNS = (
    "id",
    "loop",
    "title",
    "status",
    "department_id",
    "owner_id",
    "priority",
    "due_at",
    "first_contact_due_at",
    "first_contacted_at",
    "response_id",
    "theme_id",
    "snoozed_until",
    "version",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "response__comment",
    "response__customer__name",
    "response__customer__email",
    "response__customer__external_id",
    "response__source__name",
)

# The "Closed" badge counts up to this many and then says "1000+": closed actions pile up for
# ever (87% of the benchmark's 100k) and counting them all was the page's slowest query
# (~11 ms org-wide). The Closed tab itself counts them exactly, for its pagination.
CLOSED_COUNT_CAP = 1000


def _inbox_queryset(*, user: User, mine_only: bool, filters: InboxFilters) -> QuerySet[ActionItem]:
    """``inbox_filter(inbox_base(...))``: every filter but the tab."""
    return inbox_filter(inbox_base(user=user, mine_only=mine_only), filters)


def inbox_list(
    *, user: User, filters: InboxFilters, mine_only: bool = False, now: datetime | None = None
) -> QuerySet[ActionItem]:
    """The rows of one tab in the chosen order, as a queryset (``inbox_page`` reads a page of it).

    Theme, and in the triage inbox department, are not joined: they are small tables the page
    has in memory already (``inbox_rows_attach``), and every extra join multiplies PostgreSQL's
    planning time (six joins planned in ~5 ms against ~1 ms for the four kept, more than the
    query runs). "My actions" joins the department: an owner's actions may lie in departments
    outside their scope, which the filter bar's list does not have."""
    now = now or timezone.now()
    joins = ["owner", "response__customer", "response__source"] + (["department"] if mine_only else [])
    return (
        _inbox_queryset(user=user, mine_only=mine_only, filters=filters)
        .filter(_tab_q(filters.tab, user=user, now=now))
        .annotate(priority_rank=PRIORITY_RANK)
        .order_by(*SORTS.get(filters.sort, SORTS["due"]))
        .select_related(*joins)
    )


def inbox_page(
    *,
    user: User,
    filters: InboxFilters,
    offset: int,
    limit: int,
    mine_only: bool = False,
    now: datetime | None = None,
) -> list[ActionItem]:
    """``limit`` rows of ``inbox_list`` from ``offset``, only the columns a row shows: one query.

    "My actions" reads each row's department name too (see ``inbox_list``)."""
    columns = ROW_COLUMNS + (("department__name",) if mine_only else ())
    rows = inbox_list(user=user, filters=filters, mine_only=mine_only, now=now).only(*columns)
    return list(rows[offset : offset + limit])


def inbox_rows_attach(
    rows: list[ActionItem],
    *,
    departments: list[Department],
    themes: list[Any],
    department_joined: bool = False,
) -> list[ActionItem]:
    """Give each row its department and theme from lists already loaded for the filter bar
    (no query). A department ``inbox_page`` read already is kept; a department or theme in
    neither list (not expected: the inbox lists the departments in scope and every theme) is
    fetched, all of them in one query each."""
    from ..models import Theme

    by_id: dict[int, Any] = {d.id: d for d in departments}
    missing = set() if department_joined else {r.department_id for r in rows} - by_id.keys()
    if missing:
        by_id.update((d.id, d) for d in Department.objects.filter(id__in=missing).only("id", "name"))
    theme_by_id: dict[int, Any] = {t.id: t for t in themes}
    missing = {r.theme_id for r in rows if r.theme_id is not None} - theme_by_id.keys()
    if missing:
        theme_by_id.update((t.id, t) for t in Theme.objects.filter(id__in=missing).only("id", "name"))
    for row in rows:
        if not department_joined:  # "my actions" read it with the row (``inbox_page``)
            row.department = by_id[row.department_id]
        row.theme = theme_by_id.get(row.theme_id) if row.theme_id is not None else None
    return rows


def inbox_tab_counts(
    *,
    user: User,
    filters: InboxFilters,
    mine_only: bool = False,
    now: datetime | None = None,
    exact_closed: bool = False,
) -> dict[str, int]:
    """Every tab's count in one statement that reads indexes only (with the default filters).

    Every tab but "closed" is a subset of the open actions (~13% of them): one conditional
    aggregate over those, an index-only scan of the covering partial index
    ``feedback_action_open_tabs`` (migration 0006). "Closed" is a count on the partial index of
    closed actions, stopped after ``CLOSED_COUNT_CAP + 1`` of them unless ``exact_closed``
    (the Closed tab paginates by it): a larger number means "more than the cap". Both are one
    round trip, the closed count a scalar subquery of the aggregate. One aggregate over every
    action read the whole table: ~60 ms at 100k actions; the exact closed count ~11 ms."""
    now = now or timezone.now()
    open_tabs = [key for key, _label in TABS if key != "closed"]
    qs = _inbox_queryset(user=user, mine_only=mine_only, filters=filters)
    counts = qs.filter(status__in=OPEN).aggregate(
        **{key: Count("id", filter=_open_tab_q(key, user=user, now=now)) for key in open_tabs}
    )
    closed = qs.filter(status__in=CLOSED).order_by()
    counts["closed"] = (closed if exact_closed else closed[: CLOSED_COUNT_CAP + 1]).count()
    return counts


@dataclass
class FilterOptions:
    themes: list[Any]
    owners: list[User]
    programs: list[Any]
    sources: list[Any]
    touchpoints: list[Any]
    departments: list[Department]


# The filter bar's five small lists in one round trip: (kind, id, name, ref, sort keys...).
# ``ref`` is the department (program, touchpoint) or program (source); the sort keys give each
# list its model's ``Meta.ordering``, compared by the database (so its collation decides, as
# with ``ORDER BY name``). Table and column names come from the models.
_OPTION_PARTS = (
    (  # first and never scoped: it names the columns
        "theme",
        "SELECT 'theme' AS kind, t.id AS id, t.name AS name, NULL AS ref, t.name AS k1, 0 AS k2, 0 AS k3, "
        "0 AS k4 FROM {theme} t",
        None,
    ),
    (
        "program",
        "SELECT 'program', p.id, p.name, p.department_id, p.name, 0, 0, 0 FROM {program} p",
        "p.department_id",
    ),
    (
        "source",
        "SELECT 'source', s.id, s.name, s.program_id, p.name, 0, 0, 0 FROM {source} s "
        "JOIN {program} p ON p.id = s.program_id",
        "p.department_id",
    ),
    (
        "touchpoint",
        "SELECT 'touchpoint', t.id, t.name, t.department_id, '', js.position, t.position, t.id "
        "FROM {touchpoint} t JOIN {stage} js ON js.id = t.stage_id",
        "t.department_id",
    ),
    ("department", "SELECT 'department', d.id, d.name, NULL, d.name, 0, 0, 0 FROM {department} d", "d.id"),
)


def inbox_filter_options(*, user: User) -> FilterOptions:
    """Choices for the filter bar and the assign menu: two queries.

    Themes, programs, sources, touchpoints and departments (scoped like ``department_scope``)
    come from one ``UNION ALL``: five ORM queries cost ~3 ms of CPU a page for a few dozen
    rows, more than the rows list. People come from ``assignable_users``."""
    from charter.models import JourneyStage, Touchpoint

    from ..models import Program, Source, Theme

    models = {"theme": Theme, "program": Program, "source": Source, "touchpoint": Touchpoint}
    models["department"] = Department
    tables = {kind: model._meta.db_table for kind, model in models.items()}
    tables["stage"] = JourneyStage._meta.db_table
    ids = department_ids_for(user=user)
    parts, params = [], []
    for _kind, sql, scope_column in _OPTION_PARTS:
        sql = sql.format(**tables)
        if ids is not None and scope_column is not None:
            if not ids:
                continue
            sql += f" WHERE {scope_column} IN ({', '.join(['%s'] * len(ids))})"
            params.extend(sorted(ids))
        parts.append(sql)
    # Only model table names and fixed SQL are interpolated; the ids are parameters.
    union = " UNION ALL ".join(parts)
    query = f"SELECT kind, id, name, ref FROM ({union}) AS options ORDER BY kind, k1, k2, k3, k4, name"  # noqa: S608  # nosec B608
    lists: dict[str, list[Any]] = {kind: [] for kind in models}
    ref_field = {"program": "department_id", "source": "program_id", "touchpoint": "department_id"}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for kind, pk, name, ref in cursor.fetchall():
            model = models[kind]
            row = {"id": pk, "name": name, **({ref_field[kind]: ref} if kind in ref_field else {})}
            names = [f.attname for f in model._meta.concrete_fields if f.attname in row]  # model order
            lists[kind].append(model.from_db(connection.alias, names, [row[n] for n in names]))
    return FilterOptions(
        themes=lists["theme"],
        owners=assignable_users(user=user),
        programs=lists["program"],
        sources=lists["source"],
        touchpoints=lists["touchpoint"],
        departments=lists["department"],
    )


def assignable_users(*, user: User) -> list[User]:
    """People an action can be given to: members, ambassadors and leaders of the departments
    in scope (everyone active for the CX leader)."""
    ids = department_ids_for(user=user)
    qs = User.objects.filter(is_active=True)
    if ids is not None and not ids:
        qs = qs.filter(pk=user.pk)  # nobody's departments: the user alone
    elif ids is not None:
        scope = sorted(ids)
        qs = qs.filter(
            Q(departments__in=scope)
            | Q(ambassador_of__in=scope)
            | Q(led_departments__in=scope)
            | Q(pk=user.pk)
        ).distinct()
    qs = qs.order_by("first_name", "last_name", "username")
    return list(qs.only("id", "username", "first_name", "last_name"))


# --- SLA badge -----------------------------------------------------------------------------


def _human(delta: timedelta) -> str:
    seconds = abs(int(delta.total_seconds()))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    if days:
        return f"{days}d {hours}h" if hours and days < 3 else f"{days}d"
    if hours:
        return f"{hours}h"
    return f"{max(rem // 60, 1)}m"


def sla_badge(action: ActionItem, *, now: datetime) -> dict[str, str]:
    """What the SLA badge says: the next promise (first contact, then resolution) and how
    much time is left, or by how much it is overdue. No query."""
    if not action.is_open:
        return {"css": "ok", "text": "Closed", "title": ""}
    due, what = action.due_at, "resolve"
    if (
        action.loop == Loop.INNER
        and action.first_contacted_at is None
        and action.first_contact_due_at is not None
    ):
        due, what = action.first_contact_due_at, "first contact"
    left = due - now
    title = f"{what.capitalize()} due {timezone.localtime(due):%d %b %Y %H:%M}"
    if left.total_seconds() < 0:
        return {"css": "bad", "text": f"Overdue {_human(left)}", "title": title}
    css = "warn" if left < timedelta(hours=24) else "ok"
    return {"css": css, "text": f"{_human(left)} left to {what}", "title": title}


# --- the action page -----------------------------------------------------------------------

TRACKED = (
    ("status", "Status"),
    ("owner_id", "Owner"),
    ("priority", "Priority"),
    ("due_at", "Due"),
    ("snoozed_until", "Snoozed until"),
    ("close_reason", "Reason"),
    ("root_cause", "Root cause"),
    ("fix", "Fix"),
    ("success_measure_id", "Success measure"),
    ("verification_date", "Verification date"),
    ("customer_told_at", "Customer told"),
    ("resolution_outcome", "Outcome"),
    ("customer_told", "Customer told the outcome"),
    ("fix_notified_at", "Notified of the fix"),
)


OUTCOME_LABELS = dict(ResolutionOutcome.choices)
YES_NO = {True: "Yes", False: "No"}


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # change | contact | comment
    who: Any
    text: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    obj: Any = None


def action_timeline(*, action: ActionItem) -> list[TimelineEntry]:
    """Every change (simple-history), reopening, contact and comment, newest first. Four queries."""
    records = list(
        action.history.select_related("history_user", "owner").order_by("history_date", "history_id")
    )
    reopenings = list(ActionReopening.objects.filter(action=action).order_by("at", "id"))
    entries: list[TimelineEntry] = []
    previous = None
    for record in records:
        changes: list[tuple[str, Any, Any]] = []
        if previous is not None:
            for name, label in TRACKED:
                old, new = getattr(previous, name), getattr(record, name)
                if old != new:
                    if name == "owner_id":
                        old, new = previous.owner, record.owner
                    elif name == "status":
                        old, new = S(old).label if old else old, S(new).label
                    elif name == "resolution_outcome":
                        old, new = OUTCOME_LABELS.get(old, old), OUTCOME_LABELS.get(new, new)
                    elif name == "customer_told":
                        old, new = YES_NO.get(old, ""), YES_NO.get(new, "")
                    changes.append((label, old, new))
        text = record.history_change_reason or ("Created" if record.history_type == "+" else "Changed")
        if text.startswith("Reopened: ") and reopenings:  # the history keeps 100 characters; the row all
            reopening = reopenings.pop(0)
            text = f"Reopened (was {S(reopening.previous_status).label}): {reopening.reason}"
        entries.append(TimelineEntry(record.history_date, "change", record.history_user, text, changes))
        previous = record
    for contact in ContactLog.objects.filter(action=action).select_related("by"):
        text = f"{contact.get_channel_display()} — {contact.get_outcome_display()}"
        entries.append(TimelineEntry(contact.at, "contact", contact.by, text, obj=contact))
    for comment in ActionComment.objects.filter(action=action).select_related("author"):
        entries.append(
            TimelineEntry(comment.created_at, "comment", comment.author, comment.body, obj=comment)
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def similar_insights(*, user: User, action: ActionItem, limit: int = 5) -> list[Insight]:
    """Recent insights on the same theme in the same department (scoped; two queries at most)."""
    theme_ids: list[int] = [action.theme_id] if action.theme_id else []
    if not theme_ids and action.response_id:
        theme_ids = list(action.response.themes.values_list("id", flat=True))
    if not theme_ids:
        return []
    qs = department_scope(Insight.objects.all(), user=user).filter(
        department_id=action.department_id, themes__in=theme_ids
    )
    if action.response_id:
        qs = qs.exclude(response_id=action.response_id)
    return list(qs.select_related("response__customer").distinct().order_by("-created_at")[:limit])


# --- the systemic board ---------------------------------------------------------------------

SPARK_WEEKS = 12


def systemic_board(
    *, user: User, include_closed: bool = False, now: datetime | None = None
) -> list[ActionItem]:
    """Outer-loop actions with their insight count and weekly trend (points for an SVG
    sparkline), grouped by theme in the template. Two queries whatever the size."""
    now = now or timezone.now()
    qs = department_scope(ActionItem.objects.filter(loop=Loop.OUTER), user=user)
    if not include_closed:
        qs = qs.filter(Q(status__in=OPEN) | Q(status=S.FIXED))
    actions = list(
        qs.select_related("owner", "department", "theme", "success_measure", "customer_message")
        .annotate(insight_count=Count("insights"))
        .order_by("theme__name", "due_at", "id")
    )
    start = (now - timedelta(weeks=SPARK_WEEKS - 1)).date()
    start = start - timedelta(days=start.weekday())
    weekly = (
        Insight.objects.filter(systemic_action__in=[a.pk for a in actions], created_at__date__gte=start)
        .annotate(week=TruncWeek("created_at"))
        .values("systemic_action_id", "week")
        .annotate(n=Count("id"))
    )
    series: dict[int, list[int]] = {a.pk: [0] * SPARK_WEEKS for a in actions}
    for row in weekly:
        index = (row["week"].date() - start).days // 7
        if 0 <= index < SPARK_WEEKS:
            series[row["systemic_action_id"]][index] = row["n"]
    for action in actions:
        action.weekly = series[action.pk]  # type: ignore[attr-defined]
        action.sparkline = sparkline_points(series[action.pk])  # type: ignore[attr-defined]
    return actions


def sparkline_points(values: list[int], *, width: int = 120, height: int = 24) -> str:
    """SVG polyline points for a row of counts (the peak touches the top)."""
    if not values:
        return ""
    peak = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v / peak) * (height - 4):.1f}" for i, v in enumerate(values)
    )


def role_is_owner_only(*, user: User) -> bool:
    return user.has_role(Role.OWNER) and not can_triage(user=user)
