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
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import ActionItem, Insight, Loop, OuterLoopSettings, RoutingRule, Theme
from .notifications import action_url, notification_create
from .routing import department_fallback_owner
from .sla import sla_due_dates

OUTER_LOOPS = (RoutingRule.Loops.OUTER, RoutingRule.Loops.BOTH)


def _lock(*, theme_id: int, department_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Two int4 keys; 0x0C1E marks "outer loop" so other advisory locks do not collide.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [0x0C1E0000 + (theme_id % 0xFFFF), department_id % 2**31],
            )


def systemic_action_open(*, theme: Theme, department_id: int) -> ActionItem | None:
    return (
        ActionItem.objects.filter(
            loop=Loop.OUTER, theme=theme, department_id=department_id, status__in=ActionItem.OPEN_STATUSES
        )
        .order_by("id")
        .first()
    )


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
    themes = sorted(themes if themes is not None else insight.themes.all(), key=lambda t: (t.name, t.id))
    if not themes:
        return None
    settings = OuterLoopSettings.current()
    submitted = insight.response.submitted_at
    for theme in themes:
        _lock(theme_id=theme.id, department_id=insight.department_id)
        action = systemic_action_open(theme=theme, department_id=insight.department_id)
        if action is not None:
            Insight.objects.filter(id=insight.id).update(systemic_action=action)
            insight.systemic_action = action
            return action
        window = list(
            Insight.objects.filter(
                department_id=insight.department_id,
                themes=theme,
                loops__in=OUTER_LOOPS,
                systemic_action__isnull=True,
                response__submitted_at__gte=submitted - timedelta(days=settings.window_days),
                response__submitted_at__lte=submitted + timedelta(days=settings.window_days),
            )
            .values_list("id", flat=True)
            .distinct()
        )
        if insight.id not in window:
            window.append(insight.id)
        if len(window) < max(settings.threshold, 1):
            continue
        action = _systemic_action_create(insight=insight, theme=theme, count=len(window))
        Insight.objects.filter(id__in=window, systemic_action__isnull=True).update(systemic_action=action)
        insight.systemic_action = action
        return action
    return None


def _systemic_action_create(*, insight: Insight, theme: Theme, count: int) -> ActionItem:
    department = insight.department
    owner, _why = department_fallback_owner(department=department)
    _first_contact_due, due = sla_due_dates(priority=insight.priority, loop=Loop.OUTER, start=timezone.now())
    action = ActionItem(
        loop=Loop.OUTER,
        title=f"Systemic: {theme.name} ({department.name})",
        department=department,
        owner=owner,
        priority=insight.priority,
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
