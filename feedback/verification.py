"""Did the fix move anything? Verification of closed systemic actions.

A systemic action closed as ``fixed`` carries a ``verification_date``. Once that date has
passed, the daily beat compares two periods of equal length around the fix (the day it was
closed): the linked success measure's actuals, and the theme's own scores (mean of the
metric its responses carry most, and the count of insights on the theme in the department).
It records the figures in ``verification_result`` and sets the status ``verified`` (moved the
right way) or ``not_moved``. Telling the affected customers is then offered on the action
(the triage screens do the telling); ``affected_customers`` says how many there are.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count
from django.utils import timezone

from .models import ActionItem, Insight, Loop, Response
from .notifications import action_url, notification_create

MIN_PERIOD_DAYS = 7
# For the theme's scores: does a higher mean mean better?
HIGHER_IS_BETTER = {"nps": True, "csat": True, "ces": False}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _theme_figures(*, action: ActionItem, start: date, end: date) -> dict[str, Any]:
    """Responses on the theme in the department between ``start`` (incl.) and ``end`` (excl.)."""
    responses = Response.objects.filter(
        themes=action.theme_id,
        department_id=action.department_id,
        submitted_at__gte=_day_start(start),
        submitted_at__lt=_day_start(end),
    )
    figures: dict[str, Any] = responses.aggregate(
        responses=Count("id", distinct=True), nps=Avg("nps"), csat=Avg("csat"), ces=Avg("ces")
    )
    figures["insights"] = (
        Insight.objects.filter(
            themes=action.theme_id,
            department_id=action.department_id,
            response__submitted_at__gte=_day_start(start),
            response__submitted_at__lt=_day_start(end),
        )
        .distinct()
        .count()
    )
    for metric in HIGHER_IS_BETTER:
        if figures[metric] is not None:
            figures[metric] = round(float(figures[metric]), 2)
    return figures


def _measure_figures(*, action: ActionItem, start: date, end: date) -> float | None:
    if not action.success_measure_id:
        return None
    value = action.success_measure.actuals.filter(date__gte=start, date__lt=end).aggregate(v=Avg("value"))[
        "v"
    ]
    return round(float(value), 2) if isinstance(value, (Decimal, float, int)) else None


def _main_metric(action: ActionItem, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    kind = action.success_measure.kind if action.success_measure_id else ""
    if kind in HIGHER_IS_BETTER and (before.get(kind) is not None or after.get(kind) is not None):
        return kind
    present = [m for m in HIGHER_IS_BETTER if before.get(m) is not None and after.get(m) is not None]
    return present[0] if present else None


@transaction.atomic
def action_item_verify(*, action_id: int, today: date | None = None) -> ActionItem | None:
    """Verify one systemic action if it is due; returns it, or None if nothing to do."""
    today = today or timezone.localdate()
    action = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("success_measure", "theme", "owner", "department")
        .filter(
            id=action_id,
            loop=Loop.OUTER,
            status=ActionItem.Status.FIXED,
            verification_date__lte=today,
            verification_date__isnull=False,
        )
        .first()
    )
    if action is None or action.verification_result:
        return None
    fix_day = timezone.localdate(action.closed_at) if action.closed_at else action.verification_date
    period = max((action.verification_date - fix_day).days, MIN_PERIOD_DAYS)
    before_range = (fix_day - timedelta(days=period), fix_day)
    after_range = (fix_day, fix_day + timedelta(days=period))
    before = _theme_figures(action=action, start=before_range[0], end=before_range[1])
    after = _theme_figures(action=action, start=after_range[0], end=after_range[1])
    metric = _main_metric(action, before, after)
    signals: list[bool] = []
    measure: dict[str, Any] = {}
    if action.success_measure_id:
        m_before = _measure_figures(action=action, start=before_range[0], end=before_range[1])
        m_after = _measure_figures(action=action, start=after_range[0], end=after_range[1])
        measure = {
            "id": action.success_measure_id,
            "name": action.success_measure.name,
            "direction": action.success_measure.direction,
            "before": m_before,
            "after": m_after,
        }
        if m_before is not None and m_after is not None:
            higher = action.success_measure.direction == "higher"
            signals.append(m_after > m_before if higher else m_after < m_before)
    if metric is not None:
        b, a = before[metric], after[metric]
        signals.append(a > b if HIGHER_IS_BETTER[metric] else a < b)
    if before["insights"] or after["insights"]:
        signals.append(after["insights"] < before["insights"])
    moved = bool(signals) and all(signals)
    affected = (
        Insight.objects.filter(systemic_action=action, response__customer__isnull=False)
        .values("response__customer")
        .distinct()
        .count()
    )
    action.verification_result = {
        "checked_on": today.isoformat(),
        "fix_date": fix_day.isoformat(),
        "period_days": period,
        "before": {"from": before_range[0].isoformat(), "to": before_range[1].isoformat(), **before},
        "after": {"from": after_range[0].isoformat(), "to": after_range[1].isoformat(), **after},
        "metric": metric,
        "measure": measure,
        "moved": moved,
        "affected_customers": affected,
    }
    action.status = ActionItem.Status.VERIFIED if moved else ActionItem.Status.NOT_MOVED
    action.save(update_fields=["verification_result", "status", "updated_at"])
    notification_create(
        user=action.owner,
        subject=f"Verification: {action.title} — {'moved' if moved else 'did not move'}",
        body=(
            f"Before the fix: {before['insights']} insights"
            + (f", mean {metric.upper()} {before[metric]}" if metric else "")
            + f". After: {after['insights']} insights"
            + (f", mean {metric.upper()} {after[metric]}" if metric else "")
            + f". {affected} affected customer(s) can be told."
        ),
        url=action_url(action.id),
        dedupe_key=f"verification:{action.id}",
    )
    return action


def verification_run(*, today: date | None = None) -> int:
    """Beat (daily): verify every fixed systemic action whose date has come. Safe twice."""
    today = today or timezone.localdate()
    ids = list(
        ActionItem.objects.filter(
            loop=Loop.OUTER,
            status=ActionItem.Status.FIXED,
            verification_date__lte=today,
            verification_result={},
        ).values_list("id", flat=True)
    )
    return sum(1 for action_id in ids if action_item_verify(action_id=action_id, today=today) is not None)
