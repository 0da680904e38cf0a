"""The pipeline on a real Redis and a real Celery worker (prefork, 2 processes).

From a signed webhook to an owned action; duplicate and concurrent deliveries; clustering
under concurrency; beat ticking twice; verification; notification retries against a local
SMTP server and a local Slack-style webhook that go down and come back.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import Client
from django.utils import timezone

from feedback.models import (
    ActionItem,
    Insight,
    Notification,
    OutboxEvent,
    OuterLoopSettings,
    Response,
)
from feedback.tasks import (
    escalation_run_task,
    notification_retry_due_task,
    response_process_task,
    verification_run_task,
)
from tests.factories import ActionItemFactory, ResponseFactory, SourceFactory, ThemeFactory, UserFactory
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def source(dept_a):
    return SourceFactory(slug="web-nps", program__department=dept_a)


def deliver(source, body: dict) -> int:
    """A generic-source webhook, as the survey tool sends it."""
    reply = Client().post(
        f"/api/v1/intake/{source.slug}/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {source.token}",
    )
    assert reply.status_code in (200, 201), reply.content
    return reply.status_code


BODY = {
    "external_id": "sv-1001",
    "customer": {"external_id": "c-1", "email": "ann@example.org", "name": "Ann"},
    "scores": {"nps": 2},
    "comment": "The delivery was late and nobody called me back.",
}


def _action_for(external_id: str) -> ActionItem | None:
    return ActionItem.objects.filter(response__external_id=external_id).first()


def test_a_signed_webhook_becomes_an_owned_action_on_the_worker(celery_worker, source, ambassador):
    assert deliver(source, BODY) == 201
    action = wait_for(lambda: _action_for("sv-1001"))
    assert action.owner == ambassador
    assert action.due_at > timezone.now()
    assert wait_for(lambda: not OutboxEvent.objects.filter(processed_at=None).exists())
    assert Response.objects.get().status == "processed"


def test_duplicate_and_concurrent_deliveries_give_one_response_insight_and_action(
    celery_worker, source, ambassador
):
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda _: deliver(source, BODY), range(12)))
    assert codes.count(201) == 1
    response = Response.objects.get()
    # The same task published many times lands on both pool processes at once.
    for _ in range(6):
        response_process_task.apply_async(args=[response.id])
    wait_for(lambda: _action_for("sv-1001"))
    wait_for(lambda: not OutboxEvent.objects.filter(processed_at=None).exists())
    assert Insight.objects.count() == 1
    assert ActionItem.objects.count() == 1


def test_concurrent_insights_on_a_theme_open_exactly_one_systemic_action(celery_worker, source, ambassador):
    ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery\ndelivery was late")
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 3, "window_days": 30})
    bodies = [
        {**BODY, "external_id": f"sv-{i}", "customer": {"email": f"c{i}@example.org"}} for i in range(6)
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda body: deliver(source, body), bodies))
    wait_for(lambda: Insight.objects.count() == 6)
    wait_for(lambda: not OutboxEvent.objects.filter(processed_at=None).exists())
    systemic = ActionItem.objects.get(loop="outer")
    assert wait_for(lambda: systemic.insights.count() == 6)


def test_insights_outside_the_window_do_not_cluster(celery_worker, source, ambassador):
    ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery")
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 2, "window_days": 7})
    old = (timezone.now() - timedelta(days=30)).isoformat()
    deliver(source, {**BODY, "external_id": "old", "submitted_at": old, "comment": "late delivery"})
    deliver(source, {**BODY, "external_id": "new", "comment": "late delivery"})
    wait_for(lambda: Insight.objects.count() == 2)
    wait_for(lambda: not OutboxEvent.objects.filter(processed_at=None).exists())
    assert not ActionItem.objects.filter(loop="outer").exists()


def test_beat_ticking_twice_escalates_and_emails_once(celery_worker, smtp_server, dept_a, ambassador, leader):
    smtp_server.up()
    before = len(smtp_server.messages)
    ActionItemFactory(department=dept_a, owner=ambassador, due_at=timezone.now() - timedelta(days=2))
    escalation_run_task.apply_async()
    escalation_run_task.apply_async()
    wait_for(lambda: Notification.objects.filter(status="sent").count() == 2)
    escalation_run_task.apply_async()
    wait_for(lambda: len(smtp_server.messages) - before >= 2)
    assert Notification.objects.count() == 2
    assert ActionItem.objects.get().escalation_level == 2
    recipients = sorted(m["to"][0] for m in smtp_server.messages[before:])
    assert recipients == ["<ambassador@example.com>", "<leader@example.com>"]


def test_the_verification_job_records_whether_the_fix_moved_the_theme(celery_worker, source, ambassador):
    theme = ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery")
    systemic = ActionItemFactory(
        loop="outer",
        theme=theme,
        department=source.program.department,
        owner=ambassador,
        status="fixed",
        closed_at=timezone.now() - timedelta(days=10),
        verification_date=timezone.localdate() - timedelta(days=1),
    )
    for days, nps in ((15, 1), (12, 2), (3, 9)):
        response = ResponseFactory(
            source=source,
            nps=nps,
            submitted_at=timezone.now() - timedelta(days=days),
            comment="late delivery",
        )
        response.themes.add(theme)
    verification_run_task.apply_async()
    verification_run_task.apply_async()
    systemic = wait_for(
        lambda: ActionItem.objects.filter(id=systemic.id).exclude(verification_result={}).first()
    )
    assert systemic.status == "verified"
    assert systemic.verification_result["before"]["nps"] == 1.5
    assert systemic.verification_result["after"]["nps"] == 9.0


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_notifications_are_retried_until_smtp_and_slack_come_back(celery_worker, smtp_server):
    from feedback.notifications import notification_create

    smtp_server.down()
    hook_port = HTTPServer(("127.0.0.1", 0), _Hook)
    port = hook_port.server_port
    hook_port.server_close()  # nothing listens yet: the Slack endpoint is down
    person = UserFactory(username="pat", slack_webhook_url=f"http://127.0.0.1:{port}/hook")
    notification_create(user=person, subject="Overdue: call Ann", body="Due yesterday", dedupe_key="w:1")
    wait_for(lambda: Notification.objects.filter(status="failed").count() == 2)
    assert all(n.next_attempt_at for n in Notification.objects.all())

    smtp_server.up()
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", port), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        before = len(smtp_server.messages)
        Notification.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        notification_retry_due_task.apply_async()
        notification_retry_due_task.apply_async()  # a double tick sends nothing twice
        wait_for(lambda: Notification.objects.filter(status="sent").count() == 2)
        assert len(smtp_server.messages) - before == 1
        assert "Overdue: call Ann" in smtp_server.messages[-1]["data"]
        assert len(_Hook.received) == 1
        assert "Overdue: call Ann" in _Hook.received[0]["text"]
        assert Notification.objects.filter(attempts=2).count() == 2
    finally:
        server.shutdown()
        server.server_close()
