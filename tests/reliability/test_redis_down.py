"""Redis down during intake: deliveries are still accepted (2xx, stored in PostgreSQL before the
reply), and once Redis is back the outbox sweeper hands them to a real worker, which processes
each exactly once, even when the sweep publishes twice.

Everything runs for real against a private redis-server (port 6390) that the test kills and
restarts: gunicorn serves the intake, ``celery worker`` processes, and the sweep runs the same
code beat runs (``outbox_sweep``) in a separate process. The database is the test database.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from feedback.models import ActionItem, Insight, OutboxEvent, Response
from tests.factories import SourceFactory
from tests.reliability.conftest import AppServer, RedisServer, app_env, manage, wait_for
from tests.worker.conftest import Worker, _database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SWEEP = (  # one beat tick of the outbox sweeper, with no staleness delay
    "from datetime import timedelta; from feedback.outbox import outbox_sweep;"
    "print(outbox_sweep(stale_after=timedelta(0)))"
)


@pytest.fixture
def env(private_redis: RedisServer) -> dict[str, str]:
    return app_env(
        _database_url(),
        REDIS_URL=private_redis.url,
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        DJANGO_CONN_MAX_AGE="0",
    )


@pytest.fixture
def app(env: dict[str, str], tmp_path: Path) -> Iterator[AppServer]:
    server = AppServer(env, tmp_path / "gunicorn.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


def deliver(app: AppServer, source, external_id: str) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    body = json.dumps({"external_id": external_id, "scores": {"nps": 1}, "comment": "Nobody called me back."})
    request = urllib.request.Request(  # noqa: S310 (our own local server)
        f"{app.base}/api/v1/intake/{source.slug}/",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {source.token}"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            return reply.status, time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - started


def test_redis_down_during_intake_accepts_then_processes_each_delivery_exactly_once(
    private_redis: RedisServer,
    app: AppServer,
    env: dict[str, str],
    worker_log: Path,
    dept_a,
    ambassador,  # type: ignore[no-untyped-def]
) -> None:
    source = SourceFactory(slug="redis-down", program__department=dept_a)
    ids = [f"rd-{n}" for n in range(5)]

    private_redis.down()
    worker = None
    try:
        replies = [deliver(app, source, external_id) for external_id in ids]
        assert [status for status, _ in replies] == [201] * 5, replies
        assert max(seconds for _, seconds in replies) < 10, "a dead broker must not hold requests"
        assert Response.objects.filter(source=source, status="received").count() == 5
        assert OutboxEvent.objects.filter(processed_at=None).count() == 5
    finally:
        private_redis.up()  # an empty Redis: whatever was queued before is gone

    try:
        worker = Worker(env, worker_log).start()
        manage(env, "shell", "-c", SWEEP)
        manage(env, "shell", "-c", SWEEP)  # a second tick publishes again: handlers are idempotent
        wait_for(
            lambda: (
                Response.objects.filter(source=source, status="processed").count() == 5
                and not OutboxEvent.objects.filter(processed_at=None).exists()
            ),
            timeout=90,
        )
    finally:
        if worker is not None:
            worker.stop()
    assert Insight.objects.filter(response__source=source).count() == 5
    assert ActionItem.objects.filter(response__source=source, loop="inner").count() == 5
    assert set(
        ActionItem.objects.filter(response__source=source).values_list("response__external_id", flat=True)
    ) == set(ids)
