"""Outer loop: many similar insights become one systemic action, not a flood.

Insights that share a theme in the same department, submitted within
``OuterLoopSettings.window_days`` of each other, attach to one open systemic
``ActionItem(loop="outer")`` once ``threshold`` of them exist; the others in the window
attach too. The window looks both ways from the insight being processed, because responses
are not processed in the order they were submitted (retries, imports, parallel workers):
one submitted earlier but processed later must still find the ones around it. While that
action is open every new insight on the theme joins it. Two workers never open a second
one: a per-(theme, department) advisory lock serialises them on PostgreSQL (SQLite's
IMMEDIATE transactions serialise writers anyway) and a partial unique constraint
(``one_open_systemic_action_per_theme``) is the last guard.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from charter.models import Department

from .locking import LockBusy, lock_may_wait, lock_taken
from .models import ActionItem, Insight, Loop, OuterLoopSettings, RoutingRule, Theme
from .notifications import action_url, notification_create
from .routing import department_fallback_owner
from .sla import sla_due_dates

OUTER_LOOPS = (RoutingRule.Loops.OUTER, RoutingRule.Loops.BOTH)


def _lock_key(*, theme_id: int, department_id: int) -> tuple[int, int]:
    # Two int4 keys; 0x0C1E marks "outer loop" so other advisory locks do not collide.
    return 0x0C1E0000 + (theme_id % 0xFFFF), department_id % 2**31


def _lock_all(*, theme_ids: list[int], department_id: int) -> None:
    """Take the (theme, department) locks in one statement, in key order (everyone takes
    them in the same order, so two takers never wait for each other in a circle).

    In a batch that already holds locks, only try them (``feedback.locking``): ``LockBusy``.
    """
    if connection.vendor == "postgresql" and theme_ids:
        wait = lock_may_wait()
        got = _advisory_locks(
            keys=[_lock_key(theme_id=tid, department_id=department_id) for tid in theme_ids], wait=wait
        )
        if not wait and not all(got):
            raise LockBusy(f"clustering lock of department {department_id} held by another batch")
        lock_taken()


def _advisory_locks(*, keys: Iterable[tuple[int, int]], wait: bool) -> tuple[bool, ...]:
    """``pg_advisory_xact_lock`` (or its ``try`` form) on each key, sorted, in one statement."""
    ordered = sorted(set(keys))
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    calls = ", ".join([f"{function}(%s, %s)"] * len(ordered))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", [k for key in ordered for k in key])  # nosec B608 (placeholders only)
        row = cursor.fetchone()
    return tuple(value is not False for value in row)


def systemic_actions_lock(*, pairs: Iterable[tuple[int, int]]) -> None:
    """Wait for the clustering locks of every ``(department id, theme id)`` in one sorted
    statement: how a batch clusters all its insights at its end (ADR 0007). Safe to wait: a
    holder of these locks is clustering too and waits for nothing but these, taken in the
    same order."""
    keys = [_lock_key(theme_id=tid, department_id=did) for did, tid in pairs]
    if connection.vendor == "postgresql" and keys:
        _advisory_locks(keys=keys, wait=True)


# The oldest open systemic action of each (department, theme): written once, the ORM's OR of
# conditions cost more CPU to build than the query takes.
_OPEN_ACTIONS_SQL = """
SELECT DISTINCT ON (a.department_id, a.theme_id) a.department_id, a.theme_id, a.id
FROM feedback_actionitem a
WHERE a.loop = 'outer' AND a.status = ANY(%s::text[])
  AND a.theme_id = ANY(%s::bigint[]) AND a.department_id = ANY(%s::bigint[])
ORDER BY a.department_id, a.theme_id, a.id
"""


def systemic_actions_open(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The open systemic action of each ``(department id, theme id)`` that has one (the
    oldest, as ``systemic_action_open``): one query for a whole batch."""
    wanted = set(pairs)
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _OPEN_ACTIONS_SQL,  # the partial index one_open_systemic_action_per_theme
                [
                    sorted(str(status) for status in ActionItem.OPEN_STATUSES),
                    sorted({t for _d, t in wanted}),
                    sorted({d for d, _t in wanted}),
                ],
            )
            rows = cursor.fetchall()
        return {(d, t): action_id for d, t, action_id in rows if (d, t) in wanted}
    condition = Q()
    for department_id in {d for d, _t in wanted}:
        condition |= Q(
            department_id=department_id, theme_id__in=sorted(t for d, t in wanted if d == department_id)
        )
    found: dict[tuple[int, int], int] = {}
    for action_id, department_id, theme_id in (
        ActionItem.objects.filter(condition, loop=Loop.OUTER, status__in=ActionItem.OPEN_STATUSES)
        .order_by("-id")
        .values_list("id", "department_id", "theme_id")
    ):
        found[(department_id, theme_id)] = action_id  # the last one written is the oldest
    return found


def systemic_action_open(*, theme: Theme, department_id: int) -> ActionItem | None:
    return (
        ActionItem.objects.filter(
            loop=Loop.OUTER, theme=theme, department_id=department_id, status__in=ActionItem.OPEN_STATUSES
        )
        .order_by("id")
        .first()
    )


def _window(*, department_id: int, submitted: datetime, window_days: int) -> Q:
    """Insights (seen through their theme links) that may still join a new systemic action."""
    return Q(
        insight__department_id=department_id,
        insight__loops__in=OUTER_LOOPS,
        insight__systemic_action__isnull=True,
        insight__response__submitted_at__gte=submitted - timedelta(days=window_days),
        insight__response__submitted_at__lte=submitted + timedelta(days=window_days),
    )


def systemic_action_for(
    *,
    department: Department,
    themes: Iterable[Theme],
    priority: str,
    submitted: datetime,
    settings: OuterLoopSettings,
    exclude_insight_id: int | None = None,
    policies: dict | None = None,
    calendars: dict | None = None,
    lock: bool = True,
) -> tuple[int | None, ActionItem | None]:
    """The systemic action an outer-loop insight on ``themes`` joins: (its id, the action if
    this call opened it). ``(None, None)`` below the threshold.

    Counts the insight being clustered as one of the window (it may not be saved yet; a
    saved one is passed as ``exclude_insight_id`` so it is not counted twice). Themes are
    tried in name order; the first with an open action, or reaching the threshold, wins.
    Two queries whatever the number of themes: the locks, then one read of every theme's
    open action and window count (the count only where no action is open). When this opens
    the action, the window's other insights are attached here; the caller attaches its own.
    ``lock=False``: the caller holds the locks already (``systemic_actions_lock``).
    """
    ordered = sorted(themes, key=lambda t: (t.name, t.id))
    if not ordered:
        return None, None
    if lock:
        _lock_all(theme_ids=[t.id for t in ordered], department_id=department.id)
    state = cluster_state_postgres if connection.vendor == "postgresql" else cluster_state_orm
    rows = state(
        theme_ids=[t.id for t in ordered],
        department_id=department.id,
        submitted=submitted,
        window_days=settings.window_days,
        exclude_insight_id=exclude_insight_id,
    )
    for theme in ordered:
        open_id, count = rows.get(theme.id, (None, None))
        if open_id is not None:
            return open_id, None
        if (count or 0) + 1 < max(settings.threshold, 1):
            continue
        action = _systemic_action_create(
            department=department,
            priority=priority,
            theme=theme,
            count=(count or 0) + 1,
            policies=policies,
            calendars=calendars,
        )
        window = _window(department_id=department.id, submitted=submitted, window_days=settings.window_days)
        Insight.objects.filter(
            id__in=Insight.themes.through.objects.filter(window, theme_id=theme.id).values("insight_id"),
            systemic_action__isnull=True,
        ).update(systemic_action=action)
        return action.id, action
    return None, None


ClusterState = dict[int, tuple[int | None, int | None]]


def cluster_state_orm(
    *,
    theme_ids: list[int],
    department_id: int,
    submitted: datetime,
    window_days: int,
    exclude_insight_id: int | None = None,
) -> ClusterState:
    """Per theme: (its open systemic action in the department, or None; when there is none,
    how many other insights in the window could join one). One query."""
    open_action = (
        ActionItem.objects.filter(
            loop=Loop.OUTER,
            theme_id=OuterRef("pk"),
            department_id=department_id,
            status__in=ActionItem.OPEN_STATUSES,
        )
        .order_by("id")
        .values("id")[:1]
    )
    window = _window(department_id=department_id, submitted=submitted, window_days=window_days)
    links = Insight.themes.through.objects.filter(window, theme_id=OuterRef("pk"))
    if exclude_insight_id is not None:
        links = links.exclude(insight_id=exclude_insight_id)
    in_window = links.order_by().values("theme_id").annotate(n=Count("*")).values("n")
    return {
        tid: (open_id, count)
        for tid, open_id, count in Theme.objects.filter(id__in=theme_ids)
        .annotate(open_id=Subquery(open_action))
        .annotate(
            in_window=Case(
                When(open_id__isnull=True, then=Coalesce(Subquery(in_window), 0)), default=Value(None)
            )
        )
        .order_by()
        .values_list("id", "open_id", "in_window")
    }


# The same read as ``cluster_state_orm`` written once: building that ORM query cost ~3 ms of
# CPU per insight, more than everything else the clustering does (tested to agree).
_CLUSTER_STATE_SQL = """
SELECT t.id, o.id,
       CASE WHEN o.id IS NULL THEN (
           SELECT count(*) FROM feedback_insight_themes it
           JOIN feedback_insight i ON i.id = it.insight_id
           JOIN feedback_response r ON r.id = i.response_id
           WHERE it.theme_id = t.id AND i.department_id = %(department)s
             AND i.loops = ANY(%(loops)s) AND i.systemic_action_id IS NULL
             AND r.submitted_at >= %(since)s AND r.submitted_at <= %(until)s
             AND it.insight_id IS DISTINCT FROM %(exclude)s
       ) END
FROM feedback_theme t
LEFT JOIN LATERAL (
    SELECT a.id FROM feedback_actionitem a
    WHERE a.loop = 'outer' AND a.theme_id = t.id AND a.department_id = %(department)s
      AND a.status = ANY(%(open)s)
    ORDER BY a.id LIMIT 1
) o ON true
WHERE t.id = ANY(%(themes)s)
"""


def cluster_state_postgres(
    *,
    theme_ids: list[int],
    department_id: int,
    submitted: datetime,
    window_days: int,
    exclude_insight_id: int | None = None,
) -> ClusterState:
    params = {
        "themes": list(theme_ids),
        "department": department_id,
        "loops": [str(loop) for loop in OUTER_LOOPS],
        "open": sorted(str(status) for status in ActionItem.OPEN_STATUSES),
        "since": submitted - timedelta(days=window_days),
        "until": submitted + timedelta(days=window_days),
        "exclude": exclude_insight_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLUSTER_STATE_SQL, params)
        return {tid: (open_id, count) for tid, open_id, count in cursor.fetchall()}


@transaction.atomic
def insight_cluster(*, insight: Insight, themes: Iterable[Theme] | None = None) -> ActionItem | None:
    """Attach ``insight`` to its theme's systemic action, opening one at the threshold.

    Themes are tried in name order; the first that has (or reaches) a systemic action wins,
    because an insight belongs to at most one. Running it twice changes nothing.
    """
    if insight.loops not in OUTER_LOOPS:
        return None
    if insight.systemic_action_id:
        return insight.systemic_action
    themes = list(themes if themes is not None else insight.themes.all())
    if not themes:
        return None
    action_id, opened = systemic_action_for(
        department=insight.department,
        themes=themes,
        priority=insight.priority,
        submitted=insight.response.submitted_at,
        settings=OuterLoopSettings.current(),
        exclude_insight_id=insight.id,
    )
    if action_id is None:
        return None
    Insight.objects.filter(id=insight.id).update(systemic_action=action_id)
    insight.systemic_action = opened or ActionItem.objects.get(id=action_id)
    return insight.systemic_action


def _systemic_action_create(
    *,
    department: Department,
    priority: str,
    theme: Theme,
    count: int,
    policies: dict | None = None,
    calendars: dict | None = None,
) -> ActionItem:
    owner, _why = department_fallback_owner(department=department)
    _first_contact_due, due = sla_due_dates(
        priority=priority, loop=Loop.OUTER, start=timezone.now(), policies=policies, calendars=calendars
    )
    action = ActionItem(
        loop=Loop.OUTER,
        title=f"Systemic: {theme.name} ({department.name})",
        department=department,
        owner=owner,
        priority=priority,
        due_at=due,
        first_contact_due_at=None,
        theme=theme,
        status=ActionItem.Status.NEW,
    )
    action.full_clean(exclude=["response"])
    try:
        with transaction.atomic():  # savepoint: a concurrent twin trips the partial unique index
            action.save()
    except IntegrityError:
        existing = systemic_action_open(theme=theme, department_id=department.id)
        if existing is None:
            raise
        return existing
    notification_create(
        user=owner,
        subject=f"Systemic action opened: {theme.name}",
        body=(
            f"{count} insights about “{theme.name}” in {department.name} within the window. "
            f"Find the root cause and fix it by {timezone.localtime(due):%d %b %Y}."
        ),
        url=action_url(action.id),
        dedupe_key=f"systemic-opened:{action.id}",
    )
    return action
