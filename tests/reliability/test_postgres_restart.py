# ruff: noqa: E501  (SQL reads best on one line per clause)
"""PostgreSQL restarted under load, and the same delivery ten times at once, over real HTTP.

cxgov runs in gunicorn against a throwaway PostgreSQL cluster (see conftest.py). Tasks run
inline after commit (no broker), so a 2xx means the response, its raw delivery, its outbox
row and, for a detractor, its insight and action are all written.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.conftest import AppServer, PostgresCluster, app_env, manage, wait_for

pytestmark = [pytest.mark.services]

SETUP = """
import json
from charter.models import Department
from charter.roles import Role, roles_sync
from django.contrib.auth.models import Group
from feedback.models import Program, Source
from charter.models import User
roles_sync()
dept, _ = Department.objects.get_or_create(slug="support", defaults={"name": "Support"})
amb, _ = User.objects.get_or_create(username="amb", defaults={"email": "amb@example.org"})
amb.groups.add(Group.objects.get(name=Role.AMBASSADOR.label))
dept.ambassadors.add(amb); dept.members.add(amb)
program, _ = Program.objects.get_or_create(slug="fault", defaults={"name": "Fault", "department": dept})
source = Source(program=program, name="Fault source", slug="fault-source", kind="generic")
token = source.set_new_token(); source.save()
print(json.dumps({"slug": source.slug, "token": token}))
"""


@dataclass
class Stack:
    cluster: PostgresCluster
    app: AppServer
    slug: str
    token: str
    log: Path
    replies: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)

    def deliver(self, external_id: str, *, nps: int = 2, timeout: float = 30) -> tuple[int, dict[str, str]]:
        body = json.dumps(
            {
                "external_id": external_id,
                "scores": {"nps": nps},
                "comment": "The courier never came and nobody called me back.",
                "customer": {"external_id": f"c-{external_id}", "email": f"{external_id}@example.org"},
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (our own local server)
            f"{self.app.base}/api/v1/intake/{self.slug}/",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
                result = reply.status, dict(reply.headers)
        except urllib.error.HTTPError as exc:
            result = exc.code, dict(exc.headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            result = 0, {"error": str(exc)}
        self.replies.append((external_id, *result))
        return result


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cluster = PostgresCluster()
    app = None
    try:
        cluster.init()
        env = app_env(cluster.url)
        manage(env, "migrate", "--noinput")
        created = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
        app = AppServer(env, log)
        app.start()
        yield Stack(cluster=cluster, app=app, slug=created["slug"], token=created["token"], log=log)
    finally:
        if app is not None:
            app.stop()
        cluster.remove()


def test_the_same_delivery_ten_times_in_parallel_makes_one_response_and_one_action(stack: Stack) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = [status for status, _ in pool.map(lambda _: stack.deliver("same-1"), range(10))]
    assert sorted(statuses) == [200] * 9 + [201], statuses
    rows = stack.cluster.query(
        "SELECT (SELECT count(*) FROM feedback_response WHERE external_id = 'same-1'),"
        " (SELECT count(*) FROM feedback_actionitem a JOIN feedback_response r ON r.id = a.response_id"
        "  WHERE r.external_id = 'same-1'),"
        " (SELECT count(*) FROM feedback_insight i JOIN feedback_response r ON r.id = i.response_id"
        "  WHERE r.external_id = 'same-1')"
    )
    assert rows == [(1, 1, 1)]


def test_postgres_restart_under_load_answers_503_then_recovers_with_nothing_half_written(
    stack: Stack,
) -> None:
    stop = threading.Event()
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def load() -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
            stack.deliver(f"load-{n}", timeout=30)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: sum(1 for _, s, _ in stack.replies if s == 201) >= 10, timeout=60)
        stack.cluster.stop("fast")
        down_since = len(stack.replies)
        wait_for(lambda: sum(1 for _, s, _ in stack.replies[down_since:] if s == 503) >= 8, timeout=60)
    finally:
        if not (stack.cluster.data / "postmaster.pid").exists():
            stack.cluster.start()
    up_since = len(stack.replies)
    wait_for(lambda: sum(1 for _, s, _ in stack.replies[up_since:] if s == 201) >= 10, timeout=90)
    stop.set()
    for thread in threads:
        thread.join(timeout=40)

    outage = stack.replies[down_since:up_since]
    refused = [(eid, status, headers) for eid, status, headers in outage if status == 503]
    assert refused, "no 503 during the outage"
    assert all(headers.get("Retry-After") for _, _, headers in refused)
    assert not [s for _, s, _ in stack.replies if s >= 500 and s != 503], "only 503s, never a 500"
    assert not [s for _, s, _ in stack.replies if 400 <= s < 500], "the outage must never look like bad input"

    # the vendor retries what was refused or cut off; afterwards every delivery is stored once
    retry = {eid for eid, status, _ in stack.replies if status not in (200, 201)}
    for external_id in sorted(retry):
        status, _ = stack.deliver(external_id)
        assert status in (200, 201), (external_id, status)
    sent = {eid for eid, _, _ in stack.replies if eid.startswith("load-")}
    stored = {
        row[0]
        for row in stack.cluster.query(
            "SELECT external_id FROM feedback_response WHERE external_id LIKE 'load-%'"
        )
    }
    assert stored == sent

    # no half-written rows: every response has its delivery, its outbox row and its action
    orphans = stack.cluster.query(
        "SELECT"
        " (SELECT count(*) FROM feedback_response r WHERE r.external_id LIKE 'load-%' AND NOT EXISTS"
        "   (SELECT 1 FROM feedback_rawdelivery d WHERE d.response_id = r.id)),"
        " (SELECT count(*) FROM feedback_response r WHERE r.external_id LIKE 'load-%' AND NOT EXISTS"
        "   (SELECT 1 FROM feedback_outboxevent e WHERE e.object_id = r.id AND e.kind = 'response_process')),"
        " (SELECT count(*) FROM feedback_response r WHERE r.external_id LIKE 'load-%' AND r.status = 'processed'"
        "   AND NOT EXISTS (SELECT 1 FROM feedback_actionitem a WHERE a.response_id = r.id)),"
        " (SELECT count(*) FROM (SELECT response_id FROM feedback_actionitem WHERE loop = 'inner'"
        "   GROUP BY response_id HAVING count(*) > 1) doubles)"
    )
    assert orphans == [(0, 0, 0, 0)], orphans
    # whatever was not processed inline (the outage hit after commit) is left for the sweeper
    pending = stack.cluster.query(
        "SELECT count(*) FROM feedback_outboxevent e JOIN feedback_response r ON r.id = e.object_id"
        " WHERE r.external_id LIKE 'load-%' AND e.processed_at IS NULL"
    )[0][0]
    unprocessed = stack.cluster.query(
        "SELECT count(*) FROM feedback_response WHERE external_id LIKE 'load-%' AND status <> 'processed'"
    )[0][0]
    assert unprocessed <= pending
