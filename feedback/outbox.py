"""The transactional outbox: how accepted work reaches Celery without ever being lost.

The request writes its data and an ``OutboxEvent`` in one transaction and replies. After
commit, the relay hands the event to the broker from a background thread, so a slow or dead
Redis never holds a request. If publishing fails, or a worker dies, the beat sweeper
(``outbox_sweep``) publishes again anything not processed after a while. Handlers are
idempotent and mark the event processed in their own transaction, so a second publish is
harmless. With no broker configured (the embedded default) tasks run inline after commit.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cxgov.relay import BatchRelay

from .models import OutboxEvent

log = logging.getLogger(__name__)

TASKS: dict[str, str] = {
    OutboxEvent.Kind.RESPONSE_PROCESS: "feedback.tasks.response_process_task",
    OutboxEvent.Kind.RESPONSE_FETCH: "feedback.tasks.response_fetch_task",
    OutboxEvent.Kind.IMPORT_RUN: "feedback.tasks.import_run_task",
}


def outbox_enqueue(*, kind: str, object_id: int) -> OutboxEvent:
    """Record work inside the caller's transaction; it is published once that commits."""
    event = OutboxEvent.objects.create(kind=kind, object_id=object_id)
    outbox_relay_on_commit(event_ids=[event.id])
    return event


def outbox_relay_on_commit(*, event_ids: list[int]) -> None:
    """Publish rows the caller inserted itself (e.g. in one statement with their data)."""
    transaction.on_commit(lambda: outbox_relay(event_ids=event_ids))


def outbox_publish(*, event: OutboxEvent) -> None:
    """Hand one event to Celery (runs inline in the embedded default)."""
    OutboxEvent.objects.filter(id=event.id).update(published_at=timezone.now(), attempts=F("attempts") + 1)
    _send(event)


def _send(event: OutboxEvent, producer: Any = None, event_ids: list[int] | None = None) -> None:
    from cxgov.celery import app

    name = TASKS[event.kind]
    importlib.import_module(name.rsplit(".", 1)[0])  # autodiscovery is lazy: register it here
    task = app.tasks[name]
    kwargs: dict[str, Any] = {"event_id": event.id}
    if event_ids:
        kwargs["event_ids"] = event_ids
    task.apply_async(args=[event.object_id], kwargs=kwargs, retry=False, producer=producer)


def outbox_relay(*, event_ids: Iterable[int]) -> None:
    """Publish after commit: inline when tasks are eager, else from the relay thread."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        for event in OutboxEvent.objects.filter(id__in=list(event_ids), processed_at=None):
            try:
                outbox_publish(event=event)
            except Exception:  # the sweeper will try again; the request must not fail
                log.exception("outbox inline run failed", extra={"event_id": event.id})
        return
    _relay.put(event_ids)


RELAY_BATCH = 200

# Under load many events wait together, and one UPDATE ... RETURNING serves them all (the
# thread shares the web worker's CPU). Looked up at call time: bench/intake_profile.py times it.
_relay = BatchRelay(
    label="outbox relay", publish=lambda ids: _relay_batch(ids), batch_size=RELAY_BATCH, ids_key="event_ids"
)


def outbox_publish_many(*, event_ids: list[int]) -> int:
    """Publish those of ``event_ids`` still unprocessed, a relay batch at a time; the count.

    The web relay thread and a worker handing on an import's events share this path."""
    return sum(_relay_batch(event_ids[i : i + RELAY_BATCH]) for i in range(0, len(event_ids), RELAY_BATCH))


def _relay_batch(event_ids: list[int]) -> int:
    """Mark a batch published and read what to send, in one statement; then send each."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutboxEvent._meta.db_table} SET published_at = %s, attempts = attempts + 1 "  # noqa: S608  # nosec B608
            f"WHERE id IN ({', '.join(['%s'] * len(event_ids))}) AND processed_at IS NULL "
            "RETURNING id, kind, object_id",
            [timezone.now(), *event_ids],
        )
        rows = cursor.fetchall()
    if not rows:
        return 0
    from cxgov.celery import app

    from .processing import BATCH_SIZE

    process = [r for r in sorted(rows) if r[1] == OutboxEvent.Kind.RESPONSE_PROCESS]
    with app.producer_or_acquire() as producer:  # one broker connection for the batch
        for event_id, kind, object_id in sorted(rows):
            if kind != OutboxEvent.Kind.RESPONSE_PROCESS:
                _send(OutboxEvent(id=event_id, kind=kind, object_id=object_id), producer=producer)
        # Process events: one message per group of a worker's batch size (the worker drains a
        # batch per message anyway; a message per event would mostly wake it for nothing).
        for i in range(0, len(process), BATCH_SIZE):
            group = process[i : i + BATCH_SIZE]
            first_id, _kind, first_object = group[0]
            _send(
                OutboxEvent(id=first_id, kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=first_object),
                producer=producer,
                event_ids=[event_id for event_id, _k, _o in group] if len(group) > 1 else None,
            )
    return len(rows)


def outbox_sweep(*, stale_after: timedelta | None = None, limit: int = 1000) -> int:
    """Publish again events not processed in time (broker was down, worker died). Returns count."""
    if stale_after is None:
        stale_after = timedelta(seconds=settings.CXGOV_OUTBOX_STALE_SECONDS)
    cutoff = timezone.now() - stale_after
    pending = OutboxEvent.objects.filter(processed_at=None, created_at__lt=cutoff).order_by("id")[:limit]
    count = 0
    for event in pending:
        if event.published_at and event.published_at > cutoff:
            continue  # published recently; give the worker time
        try:
            outbox_publish(event=event)
            count += 1
        except Exception as exc:
            log.warning("outbox sweep could not publish", extra={"event_id": event.id, "error": str(exc)})
            break  # broker still down: try again next tick
    return count


def outbox_prune(*, keep: timedelta | None = None, batch: int = 10_000) -> int:
    """Delete events processed more than ``keep`` ago (``CXGOV_OUTBOX_KEEP_DAYS``), ``batch``
    rows per statement so no transaction holds many locks; the count deleted. An event not yet
    processed is never deleted, however old: it is work still owed."""
    if keep is None:
        keep = timedelta(days=settings.CXGOV_OUTBOX_KEEP_DAYS)
    cutoff = timezone.now() - keep
    done = OutboxEvent.objects.filter(processed_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(done.order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        count, _per_model = done.filter(id__in=ids).delete()  # nothing refers to an event: one DELETE
        deleted += count


def outbox_mark_processed(*, event_id: int | None) -> None:
    """Called by handlers inside their transaction once the work is done."""
    if event_id is not None:
        OutboxEvent.objects.filter(id=event_id, processed_at=None).update(processed_at=timezone.now())
