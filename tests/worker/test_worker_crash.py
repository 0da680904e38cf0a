"""A worker killed mid-task loses nothing: after redelivery or restart the action exists once.

The task is caught mid-flight by holding the response's row lock from another connection:
the worker's ``response_process`` is then inside its transaction, waiting, when we SIGKILL it.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.db import connection, transaction

from feedback.models import ActionItem, Insight, OutboxEvent, Response
from feedback.outbox import outbox_enqueue, outbox_sweep
from feedback.tasks import response_process_task
from tests.factories import ResponseFactory, SourceFactory
from tests.rawdb import raw_connection
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def waiting_on_locks() -> int:
    """Sessions of this database waiting on a lock right now (a worker, mid-task).

    Asked on the test's own autocommit connection: a fresh statistics snapshot every time.
    """
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cur.fetchone()[0]


class RowLock:
    """Holds ``SELECT ... FOR UPDATE`` on a response from a separate connection."""

    def __init__(self, response_id: int) -> None:
        self.conn = raw_connection()
        self.conn.cursor().execute("SELECT id FROM feedback_response WHERE id = %s FOR UPDATE", [response_id])

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


@pytest.fixture
def pending(dept_a, ambassador) -> tuple[Response, OutboxEvent]:
    source = SourceFactory(program__department=dept_a)
    return ResponseFactory(source=source, nps=1), None  # type: ignore[return-value]


def _publish(response: Response) -> OutboxEvent:
    with transaction.atomic():
        return outbox_enqueue(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=response.id)


def test_pool_processes_killed_mid_task_are_replaced_and_the_task_redelivered(start_worker, pending):
    response, _ = pending
    lock = RowLock(response.id)
    worker = start_worker()
    try:
        _publish(response)
        wait_for(lambda: waiting_on_locks() >= 1, timeout=30)  # inside response_process, waiting
        _main, *children = worker.pids()
        assert children
        for pid in children:
            os.kill(pid, signal.SIGKILL)  # acks_late + reject_on_worker_lost: the message goes back
        lock.release()  # the killed process's transaction can never commit
        wait_for(lambda: Response.objects.filter(id=response.id, status="processed").exists(), timeout=30)
        assert ActionItem.objects.filter(response=response).count() == 1
        assert Insight.objects.filter(response=response).count() == 1
    finally:
        worker.stop()
        lock.release()


def test_a_whole_worker_killed_mid_task_loses_nothing_after_restart(start_worker, pending):
    response, _ = pending
    lock = RowLock(response.id)
    worker = start_worker()
    try:
        event = _publish(response)
        wait_for(lambda: waiting_on_locks() >= 1, timeout=30)
        worker.kill()  # SIGKILL main and children: nothing acked, nothing cleaned up
        lock.release()  # its orphaned session gets the row, cannot reply, rolls back
        wait_for(lambda: waiting_on_locks() == 0)
        assert not Insight.objects.filter(response=response).exists()
        assert not OutboxEvent.objects.filter(id=event.id, processed_at__isnull=False).exists()
        start_worker()
        # The beat sweeper publishes again what was never processed.
        # (timedelta(0) would read as "use the default" in outbox_sweep, hence 1 µs.)
        assert outbox_sweep(stale_after=timedelta(microseconds=1)) >= 1
        wait_for(lambda: OutboxEvent.objects.filter(id=event.id, processed_at__isnull=False).exists())
        # The original message may come back too (visibility timeout): it changes nothing.
        response_process_task.apply_async(args=[response.id], kwargs={"event_id": event.id})
        response_process_task.apply_async(args=[response.id])
        wait_for(lambda: Response.objects.filter(id=response.id, status="processed").exists())
        assert ActionItem.objects.filter(response=response).count() == 1
        assert Insight.objects.filter(response=response).count() == 1
    finally:
        worker.kill()
        lock.release()
