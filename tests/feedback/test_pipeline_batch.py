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
from feedback.models import (
    ActionItem,
    Insight,
    Notification,
    OutboxEvent,
    OuterLoopSettings,
    Response,
    RoutingRule,
)
from feedback.processing import _DRAIN_SQL, response_process_batch
from tests.factories import ResponseFactory, SourceFactory, ThemeFactory
from tests.rawdb import raw_connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED batches are PostgreSQL's"),
]

# Per actionable response: only the clustering read (window count) of its insight, because no
# systemic action is open on its first theme here; none once one is (see below).
PER_RESPONSE = 1
# Per batch: the drain; the lock+read of all its responses; the department's fallback owner;
# one statement each for the responses, their theme links, insights, insight themes, actions,
# their history, action↔insight links, notifications; the clustering locks, the open systemic
# actions; the UPDATE marking its events; + SAVEPOINT/RELEASE of the batch's transaction because
# the test itself runs in one (in production: BEGIN … COMMIT, once).
PER_BATCH = 16


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
    real = processing.insight_plan

    def insight_plan(*, response, **kwargs):
        if response.id == bad:
            raise RuntimeError("routing exploded")
        return real(response=response, **kwargs)

    with mock.patch.object(processing, "insight_plan", insight_plan):
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
    real = processing._response_plan
    calls: list[int] = []

    def plan(*, response, cached):
        calls.append(response.id)
        if response.id == loser and calls.count(loser) == 1:
            # Run a statement that fails the way a deadlock victim's does.
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01', MESSAGE = 'deadlock'; END $$"
                )
        return real(response=response, cached=cached)

    with mock.patch.object(processing, "_response_plan", plan):
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
                {"kind": OutboxEvent.Kind.RESPONSE_PROCESS, "own": [own], "others": True, "limit": limit},
            )
            self.events = [eid for eid, _ in cursor.fetchall()]

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()

    def release_when(self, sql: str, params: list) -> tuple[threading.Thread, list[bool]]:
        """A thread that asks ``sql`` on this worker's connection every 0.1 s (10 s at most)
        until its answer is true, notes that it was, then lets this worker's transaction go."""
        seen: list[bool] = []

        def poll() -> None:
            for _ in range(100):
                with self.conn.cursor() as cursor:
                    cursor.execute(sql, params)
                    if cursor.fetchone()[0]:
                        seen.append(True)
                        break
                threading.Event().wait(0.1)
            self.release()

        thread = threading.Thread(target=poll)
        thread.start()
        return thread, seen


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
        assert len(after_commit) == 1  # the batch's notifications, dispatched together after that commit
        assert Notification.objects.filter(status="pending").count() == 3  # one per new action
        for func in after_commit:
            func()
        assert Notification.objects.filter(status="sent").count() == 3
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
def test_a_batch_waits_for_a_busy_clustering_lock_only_at_its_end_and_keeps_every_response(source, dept_a):
    from feedback.outer_loop import _lock_key

    refunds = ResponseFactory(source=source, nps=2, comment="Still no refund.")
    late = ResponseFactory(source=source, nps=2, comment="Late delivery.")
    events = [
        OutboxEvent.objects.create(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=r.id)
        for r in (refunds, late)
    ]
    theme = ThemeFactory._meta.model.objects.get(slug="late-delivery")
    other = _OtherWorker(own=-1, limit=1)  # another transaction, clustering on late delivery
    with other.conn.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", _lock_key(theme_id=theme.id, department_id=dept_a.id)
        )
    # The batch asks for its clustering locks only after routing and writing every response:
    # by then both insights exist in its (uncommitted) transaction.
    thread, seen = other.release_when(
        "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", []
    )
    try:
        with mock.patch.object(processing, "_response_process_alone") as alone:
            done = response_process_batch(event_id=events[0].id)
    finally:
        thread.join(timeout=30)
    assert seen == [True]  # it waited (at its end), and got the lock once the other let go
    assert not alone.called  # nobody was set aside
    assert done == [e.id for e in events]
    assert Response.objects.get(id=late.id).status == Response.Status.PROCESSED
    assert list(Insight.objects.get(response=late).themes.all()) == [theme]


def test_insights_join_open_systemic_actions_at_a_constant_cost(source, dept_a):
    from feedback.outer_loop import systemic_action_open

    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 2})
    response_process_batch(event_id=pending(source, 2)[0].id)  # opens one on the first theme by name
    late = ThemeFactory._meta.model.objects.get(slug="late-delivery")
    systemic = systemic_action_open(theme=late, department_id=dept_a.id)
    assert systemic is not None
    counts = {}
    for size in (2, 6):
        events = pending(source, size)
        with CaptureQueriesContext(connection) as captured:
            response_process_batch(event_id=events[0].id)
        counts[size] = len(captured.captured_queries)
        for event in events:  # themes in name order: "Late delivery" wins
            insight = Insight.objects.get(response_id=event.object_id)
            assert insight.systemic_action == systemic
    # No window count once every insight's first theme has an open action: nothing per
    # response, and one UPDATE more per batch, attaching its insights.
    assert counts == {size: PER_BATCH + 1 + size * (PER_RESPONSE - 1) for size in counts}
    assert ActionItem.objects.filter(loop="outer").count() == 1


def test_insights_of_one_batch_reaching_the_threshold_open_one_systemic_action_for_all(source, dept_a):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 3})
    before = pending(source, 1)
    response_process_batch(event_id=before[0].id)
    assert not ActionItem.objects.filter(loop="outer").exists()  # 1 < 3
    response_process_batch(event_id=pending(source, 4)[0].id)
    systemic = ActionItem.objects.get(loop="outer")  # both themes reached it; the first by name opened
    assert systemic.theme.slug == "late-delivery"
    assert Insight.objects.filter(systemic_action=systemic).count() == 5  # the earlier one too
    assert not Insight.objects.filter(systemic_action__isnull=True).exists()


def test_two_events_for_one_response_in_a_batch_give_one_insight(source):
    events = pending(source, 2)
    again = OutboxEvent.objects.create(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=events[0].object_id)
    done = response_process_batch(event_id=events[0].id)
    assert sorted(done) == sorted([*(e.id for e in events), again.id])
    assert Insight.objects.count() == ActionItem.objects.filter(loop="inner").count() == 2


def test_the_batch_writes_what_the_single_path_writes(source):
    from feedback.processing import response_process

    alone, batched = pending(source, 1), pending(source, 2)
    response_process(response_id=alone[0].object_id, event_id=alone[0].id)
    with mock.patch.object(processing, "_batch_write", wraps=processing._batch_write) as written:
        response_process_batch(event_id=batched[0].id, limit=2)
    assert written.call_count == 1  # set-based
    rows = []
    for event in (alone[0], batched[0]):
        response = Response.objects.get(id=event.object_id)
        insight = Insight.objects.get(response=response)
        action = ActionItem.objects.get(response=response)
        history = list(action.history.values_list("history_type", "status", "owner_id", "due_at"))
        notification = Notification.objects.get(dedupe_key__startswith=f"action-created:{action.id}:")
        rows.append(
            (
                response.status,
                response.nps_band,
                response.sentiment,
                response.department_id,
                sorted(response.themes.values_list("slug", flat=True)),
                insight.owner_id,
                insight.reason,
                insight.routing_note,
                sorted(insight.themes.values_list("slug", flat=True)),
                list(action.inner_links.values_list("insight_id", flat=True)) == [insight.id],
                action.title.split(" — ")[1],
                round((action.due_at - response.received_at).total_seconds() / 60),
                history,
                notification.subject.split(" up ")[0],
                notification.status,
            )
        )
        assert rows[-1][-3] == [("+", "new", insight.owner_id, action.due_at)]
    assert rows[0] == rows[1]


def test_one_response_inline_is_written_by_the_batchs_code(source):
    """Issue 25: one pipeline path. The inline/eager task (tests, the embedded default) and a
    worker's batch write through the same ``_batch_write``; there is no second writer."""
    from feedback.processing import response_process

    alone = pending(source, 1)[0]
    with mock.patch.object(processing, "_batch_write", wraps=processing._batch_write) as written:
        response_process(response_id=alone.object_id, event_id=alone.id)
    assert written.call_count == 1 and len(written.call_args.args[0]) == 1
    assert not hasattr(processing, "insight_create")
    assert ActionItem.objects.filter(response_id=alone.object_id).count() == 1


def test_a_batch_whose_writes_fail_is_rolled_back_and_processed_one_response_at_a_time(source):
    events = pending(source, 3)
    real = processing._batch_cluster

    def cluster(plans, **kwargs):  # the batch's clustering fails; one response's does not
        if len(plans) > 1:
            raise RuntimeError("cluster exploded")
        return real(plans, **kwargs)

    with mock.patch.object(processing, "_batch_cluster", side_effect=cluster):
        done = response_process_batch(event_id=events[0].id)
    assert sorted(done) == sorted(e.id for e in events)
    assert processed(events) == {e.id for e in events}
    for event in events:
        assert Response.objects.get(id=event.object_id).status == Response.Status.PROCESSED
        assert ActionItem.objects.filter(response_id=event.object_id).count() == 1
        assert OutboxEvent.objects.get(id=event.id).last_error == ""


def test_a_message_for_a_group_of_events_drains_its_own_first_then_the_oldest(source):
    older = pending(source, 2)
    group = pending(source, 3)
    done = response_process_batch(event_id=group[0].id, event_ids=[e.id for e in group], limit=4)
    assert done == [e.id for e in group] + [older[0].id]
    assert processed(older + group) == set(done)
    with CaptureQueriesContext(connection) as captured:  # the same message again: nothing to do
        assert response_process_batch(event_id=group[0].id, event_ids=[e.id for e in group]) == []
    assert len(captured.captured_queries) == 1 + 2


def test_the_relay_publishes_one_message_per_batch_of_process_events(source):
    from feedback import outbox

    events = pending(source, processing.BATCH_SIZE * 2 + 3)
    sent: list[tuple[int, list[int] | None]] = []
    with mock.patch.object(
        outbox, "_send", lambda event, producer=None, event_ids=None: sent.append((event.id, event_ids))
    ):
        assert outbox.outbox_publish_many(event_ids=[e.id for e in events]) == len(events)
        alone = pending(source, 1)
        outbox.outbox_publish_many(event_ids=[alone[0].id])
    ids = [e.id for e in events]
    size = processing.BATCH_SIZE
    # The relay takes 200 at a time: 103 events are one relay batch, three messages.
    assert sent == [
        (ids[0], ids[:size]),
        (ids[size], ids[size : 2 * size]),
        (ids[2 * size], ids[2 * size :]),
        (alone[0].id, None),  # a lone event: a message as before
    ]


@pytest.mark.django_db(transaction=True)
def test_a_busy_round_robin_cursor_sets_only_that_response_aside(source, dept_a):
    themes = {t.slug: t for t in ThemeFactory._meta.model.objects.all()}
    RoutingRule.objects.create(
        name="Late", position=1, department=dept_a, theme=themes["late-delivery"], owner_mode="round_robin"
    )
    refunds_rule = RoutingRule.objects.create(
        name="Refunds", position=2, department=dept_a, theme=themes["refunds"], owner_mode="round_robin"
    )
    late = ResponseFactory(source=source, nps=2, comment="Late delivery.")
    refund = ResponseFactory(source=source, nps=2, comment="Still no refund.")
    events = [
        OutboxEvent.objects.create(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=r.id)
        for r in (late, refund)
    ]
    other = _OtherWorker(own=-1, limit=1)  # another transaction turning the refunds cursor
    with other.conn.cursor() as cursor:
        cursor.execute("SELECT id FROM feedback_routingrule WHERE id = %s FOR UPDATE", [refunds_rule.id])
    # The batch holds the late-delivery cursor when it meets the busy one: it must not wait,
    # nor give up the late response; the refund one is processed after the commit.
    thread, released = other.release_when(
        "SELECT status = %s FROM feedback_response WHERE id = %s", [Response.Status.PROCESSED, late.id]
    )
    try:
        with mock.patch.object(
            processing, "_response_process_alone", wraps=processing._response_process_alone
        ) as alone:
            done = response_process_batch(event_id=events[0].id)
    finally:
        thread.join(timeout=30)
    assert released == [True]
    assert sorted(done) == sorted(e.id for e in events)
    assert [c.kwargs["response_id"] for c in alone.call_args_list] == [refund.id]  # not the batch
    assert Insight.objects.get(response=refund).routing_rule == refunds_rule  # alone, after the commit
    assert OutboxEvent.objects.get(id=events[1].id).last_error == ""
