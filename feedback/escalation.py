"""Escalation of overdue actions: first the department's ambassador, then the CX leaders.

Level 1 as soon as an open action is past its due date (and not snoozed); level 2 once it has
been overdue for ``LEVEL_2_AFTER``. The action's ``escalation_level`` only goes up, and each
notification has a dedupe key ``escalation:<action>:<level>:<user>``, so a beat that ticks
twice, or two beat processes, never send the same escalation twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from charter.roles import Role

from .models import ActionItem
from .notifications import action_url, notification_create

LEVEL_2_AFTER = timedelta(hours=24)


def _recipients(action: ActionItem, level: int) -> list[Any]:
    User = get_user_model()
    if level == 1:
        people = list(action.department.ambassadors.filter(is_active=True).order_by("id"))
        if not people and action.department.leader_id:
            people = [action.department.leader]
        if people:
            return people
    leaders = list(User.objects.filter(is_active=True, groups__name=Role.CX_LEADER.label).order_by("id"))
    return leaders or list(User.objects.filter(is_active=True, is_superuser=True).order_by("id"))


def overdue_actions(*, now: datetime) -> Any:
    """Open, past due, not snoozed, not yet at the top level."""
    return ActionItem.objects.filter(
        status__in=ActionItem.OPEN_STATUSES, due_at__lt=now, escalation_level__lt=2
    ).filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))


def action_item_escalate(*, action_id: int, now: datetime | None = None) -> int | None:
    """Raise one overdue action to the level its lateness calls for; returns the new level.

    The row is locked (skip if another worker holds it); notifications are recorded in the
    same transaction and sent after commit.
    """
    now = now or timezone.now()
    with transaction.atomic():
        action = (
            overdue_actions(now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("department__leader", "owner")
            .filter(id=action_id)
            .first()
        )
        if action is None:
            return None
        target = 2 if now - action.due_at >= LEVEL_2_AFTER else 1
        if target <= action.escalation_level:
            return None
        late = now - action.due_at
        hours = int(late.total_seconds() // 3600)
        for level in range(action.escalation_level + 1, target + 1):
            for person in _recipients(action, level):
                notification_create(
                    user=person,
                    subject=f"Overdue (level {level}): {action.title}",
                    body=(
                        f"{action.get_loop_display()} action in {action.department.name}, owned by "
                        f"{action.owner}, was due {timezone.localtime(action.due_at):%a %d %b %H:%M} "
                        f"({hours} h ago)."
                    ),
                    url=action_url(action.id),
                    dedupe_key=f"escalation:{action.id}:{level}:{person.id}",
                )
        action.escalation_level = target
        action.save(update_fields=["escalation_level", "updated_at"])
        return target


def escalation_run(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Beat: escalate every overdue action that needs it. Returns how many moved up."""
    now = now or timezone.now()
    moved = 0
    ids = list(overdue_actions(now=now).order_by("due_at").values_list("id", flat=True)[:limit])
    for action_id in ids:
        if action_item_escalate(action_id=action_id, now=now) is not None:
            moved += 1
    return moved
