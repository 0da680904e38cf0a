"""A worker's process message drains a batch of pending events in one transaction, each response
in a savepoint: one commit per batch, a bad response loses nothing else, two drains never share
an event, and a message whose event is already done costs one query."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from feedback import processing
from feedback.models import ActionItem, Insight, OutboxEvent, OuterLoopSettings, Response, RoutingRule
from feedback.processing import _DRAIN_SQL, response_process_batch
from tests.factories import ResponseFactory, SourceFactory, ThemeFactory
from tests.rawdb import raw_connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED batches are PostgreSQL's"),
]

# Per actionable response (see test_pipeline_cost): 12, + SAVEPOINT/RELEASE of its own savepoint.
PER_RESPONSE = 14
# Per batch: the drain, the one UPDATE marking its events, + SAVEPOINT/RELEASE of the batch's
# transaction because the test itself runs in one (in production: BEGIN … COMMIT, once).
PER_BATCH = 4


@pytest.fixture
def source(dept_a, ambassador):
    # No systemic action opens while a test runs (that would add its own statements).
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 1000})
    RoutingRule.objects.create(name="Default", is_default=True, department=dept_a)
    ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery\ntracking")
    ThemeFactory(name="Refunds", slug="refunds", keywords="refund\ncharged twice")
    return SourceFactory(program__department=dept_a)


def pending(source, count: int) -> list[OutboxEvent]:
    """Received responses with their process events, as intake leaves them."""
    responses = [
        ResponseFactory(source=source, nps=2, comment="Late delivery again and still no refund.")
        for _ in range(count)
    ]
    return [
        OutboxEvent.objects.create(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=r.id) for r in responses
    ]


def processed(events: list[OutboxEvent]) -> set[int]:
    return set(
        OutboxEvent.objects.filter(id__in=[e.id for e in events], processed_at__isnull=False).values_list(
            "id", flat=True
        )
    )


def test_one_message_drains_pending_events_own_first_at_a_constant_cost_per_response(source):
    warm = pending(source, 1)
    response_process_batch(event_id=warm[0].id)  # the configuration is read once per worker
    counts = {}
    for size in (2, 6):
        events = pending(source, size)
        with CaptureQueriesContext(connection) as captured:
            done = response_process_batch(event_id=events[-1].id)
        assert done == [events[-1].id] + [e.id for e in events[:-1]]  # own first, then oldest
        counts[size] = len(captured.captured_queries)
        assert processed(events) == {e.id for e in events}
        for event in events:
            assert Response.objects.get(id=event.object_id).status == Response.Status.PROCESSED
            assert ActionItem.objects.filter(response_id=event.object_id, loop="inner").count() == 1
            assert Insight.objects.get(response_id=event.object_id).themes.count() == 2
    assert counts == {size: PER_BATCH + size * PER_RESPONSE for size in counts}


def test_the_batch_size_is_a_limit(source):
    events = pending(source, 5)
    assert response_process_batch(event_id=events[0].id, limit=3) == [e.id for e in events[:3]]
    assert processed(events) == {e.id for e in events[:3]}


def test_a_bad_response_in_a_batch_is_recorded_failed_and_loses_nothing_else(source):
    events = pending(source, 4)
    bad = events[1].object_id
    real = processing.insight_create

    def insight_create(*, response, **kwargs):
        if response.id == bad:
            raise RuntimeError("routing exploded")
        return real(response=response, **kwargs)

    with mock.patch.object(processing, "insight_create", insight_create):
        done = response_process_batch(event_id=events[0].id)
    assert done == [events[0].id, events[2].id, events[3].id]
    assert processed(events) == set(done)
    failed = Response.objects.get(id=bad)
    assert failed.status == Response.Status.FAILED  # rolled back to its savepoint, then recorded
    assert not failed.themes.exists() and not Insight.objects.filter(response=failed).exists()
    assert "routing exploded" in OutboxEvent.objects.get(id=events[1].id).last_error
    for event in (events[0], events[2], events[3]):
        assert ActionItem.objects.filter(response_id=event.object_id).count() == 1

    # Not retried by every other batch (no hot loop); its own message (the sweeper's) retries it.
    later = pending(source, 1)
    assert response_process_batch(event_id=later[0].id) == [later[0].id]
    assert response_process_batch(event_id=events[1].id) == [events[1].id]
    assert Response.objects.get(id=bad).status == Response.Status.PROCESSED
    assert ActionItem.objects.filter(response_id=bad).count() == 1


def test_a_message_for_an_already_drained_event_is_one_query_and_changes_nothing(source):
    events = pending(source, 3)
    response_process_batch(event_id=events[0].id)
    waiting = pending(source, 2)
    for event in events:  # the messages of the drained events arrive afterwards
        with CaptureQueriesContext(connection) as captured:
            assert response_process_batch(event_id=event.id) == []
        assert len(captured.captured_queries) == 1 + 2  # the drain (+ the test's savepoint pair)
    assert not processed(waiting)  # a no-op does not take others' events
    assert Insight.objects.count() == ActionItem.objects.filter(loop="inner").count() == 3


def test_a_lock_conflict_with_another_batch_is_processed_again_on_its_own(source):
    events = pending(source, 3)
    loser = events[1].object_id
    real = processing._response_work
    calls: list[int] = []

    def work(*, response_id):
        calls.append(response_id)
        if response_id == loser and calls.count(loser) == 1:
            # Run a statement that fails the way a deadlock victim's does.
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01', MESSAGE = 'deadlock'; END $$"
                )
        return real(response_id=response_id)

    with mock.patch.object(processing, "_response_work", work):
        done = response_process_batch(event_id=events[0].id)
    assert sorted(done) == sorted(e.id for e in events)
    assert Response.objects.get(id=loser).status == Response.Status.PROCESSED  # not "failed"
    assert OutboxEvent.objects.get(id=events[1].id).last_error == ""


class _OtherWorker:
    """Another worker's transaction holding a drain of its own (a separate connection)."""

    def __init__(self, *, own: int, limit: int) -> None:
        self.conn = raw_connection()
        with self.conn.cursor() as cursor:
            cursor.execute(
                _DRAIN_SQL,
                {"kind": OutboxEvent.Kind.RESPONSE_PROCESS, "own": own, "others": True, "limit": limit},
            )
            self.events = [eid for eid, _ in cursor.fetchall()]

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_drain_skips_events_another_batch_holds_and_commits_once(source):
    events = pending(source, 6)
    other = _OtherWorker(own=events[0].id, limit=3)  # holds events 0, 1, 2
    try:
        assert other.events == [e.id for e in events[:3]]
        after_commit: list = []  # the owners' notifications, sent inline here, commit on their own

        def hold_hooks() -> None:
            after_commit.extend(func for _sid, func, _robust in connection.run_on_commit)
            connection.run_on_commit = []

        with (
            mock.patch.object(connection, "commit", wraps=connection.commit) as commit,
            mock.patch.object(connection, "run_and_clear_commit_hooks", hold_hooks),
        ):
            # Its own event is held by the other batch: it takes what nobody holds, waits for nothing.
            done = response_process_batch(event_id=events[1].id)
        assert done == [e.id for e in events[3:]]
        assert commit.call_count == 1  # one transaction for the batch
        assert len(after_commit) == 3  # one notification per new action, after that commit
        for func in after_commit:
            func()
        assert processed(events) == set(done)
    finally:
        other.release()  # that worker died: its events are pending again for a message or the sweeper
    assert response_process_batch(event_id=events[1].id) == [events[1].id, events[0].id, events[2].id]
    assert processed(events) == {e.id for e in events}


@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_never_process_one_event_twice(source):
    events = pending(source, 40)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def drain(own: OutboxEvent) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(response_process_batch(event_id=own.id, limit=8))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    # Four messages, every one for a different event, all drain at once, then the stragglers.
    threads = [threading.Thread(target=drain, args=(events[i * 10],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for event in events:
        results.append(response_process_batch(event_id=event.id))
    drained = [eid for batch in results for eid in batch]
    assert sorted(drained) == sorted(e.id for e in events)  # each exactly once
    assert max(len(batch) for batch in results[:4]) > 1  # they did batch
    assert Insight.objects.count() == 40
    assert ActionItem.objects.filter(loop="inner").count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_batch_holding_locks_does_not_wait_for_another_batch_s_clustering_lock(source, dept_a):
    from feedback.outer_loop import _lock_key

    refunds = ResponseFactory(source=source, nps=2, comment="Still no refund.")
    late = ResponseFactory(source=source, nps=2, comment="Late delivery.")
    events = [
        OutboxEvent.objects.create(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=r.id)
        for r in (refunds, late)
    ]
    theme = ThemeFactory._meta.model.objects.get(slug="late-delivery")
    other = _OtherWorker(own=-1, limit=1)  # another batch, holding the late-delivery lock
    with other.conn.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", _lock_key(theme_id=theme.id, department_id=dept_a.id)
        )
    released: list[bool] = []

    def release_once_the_batch_committed() -> None:
        # Waiting in the batch (holding the refunds lock) is what could deadlock: the other
        # batch lets go only once ours has committed without the late-delivery response.
        for _ in range(100):
            with other.conn.cursor() as cursor:
                cursor.execute("SELECT status FROM feedback_response WHERE id = %s", [refunds.id])
                if cursor.fetchone()[0] == Response.Status.PROCESSED:
                    released.append(True)
                    break
            threading.Event().wait(0.1)
        other.release()

    thread = threading.Thread(target=release_once_the_batch_committed)
    thread.start()
    try:
        done = response_process_batch(event_id=events[0].id)
    finally:
        thread.join(timeout=30)
    assert released == [True]
    assert sorted(done) == sorted(e.id for e in events)
    assert Response.objects.get(id=late.id).status == Response.Status.PROCESSED  # afterwards, alone
    assert OutboxEvent.objects.get(id=events[1].id).last_error == ""
    assert list(Insight.objects.get(response=late).themes.all()) == [theme]
