"""``outbox_prune``: processed events go after ``CXGOV_OUTBOX_KEEP_DAYS``; owed work never does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone

from feedback.models import OutboxEvent
from feedback.outbox import outbox_prune
from feedback.schedule import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def _event(*, processed_days_ago: float | None, created_days_ago: float = 30) -> OutboxEvent:
    now = timezone.now()
    base = OutboxEvent.objects.aggregate(m=Max("object_id"))["m"] or 0
    event = OutboxEvent.objects.create(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=base + 1)
    processed = None if processed_days_ago is None else now - timedelta(days=processed_days_ago)
    OutboxEvent.objects.filter(id=event.id).update(
        created_at=now - timedelta(days=created_days_ago), processed_at=processed
    )
    return event


def test_old_processed_events_go_recent_and_unprocessed_ones_stay(settings):
    settings.CXGOV_OUTBOX_KEEP_DAYS = 7
    old = [_event(processed_days_ago=8 + i) for i in range(5)]
    recent = _event(processed_days_ago=1)
    owed = _event(processed_days_ago=None, created_days_ago=90)  # never processed: still owed
    assert outbox_prune(batch=2) == 5  # three statements of at most two rows
    left = set(OutboxEvent.objects.values_list("id", flat=True))
    assert left == {recent.id, owed.id}
    assert not left & {e.id for e in old}
    assert outbox_prune() == 0


def test_the_prune_runs_nightly_from_beat():
    entry = BEAT_SCHEDULE["outbox-prune"]
    assert entry["task"] == "feedback.tasks.outbox_prune_task"
