"""Notifications: one row per enabled channel, deduplicated, digest, retried, never raising."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from feedback.models import Notification
from feedback.notifications import (
    MAX_ATTEMPTS,
    notification_create,
    notification_digest_send,
    notification_retry_due,
    notification_send,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    _Hook.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Hook
    server.shutdown()
    server.server_close()


def test_an_email_user_gets_one_email_notification_sent_after_commit(django_capture_on_commit_callbacks):
    user = UserFactory(notify_by_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        rows = notification_create(user=user, subject="New action", body="Call Ann", dedupe_key="a:1")
    assert [r.channel for r in rows] == ["email"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert Notification.objects.get().status == "sent"


def test_the_same_dedupe_key_never_notifies_twice(django_capture_on_commit_callbacks):
    user = UserFactory(notify_by_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=user, subject="New action", body="x", dedupe_key="a:1")
        notification_create(user=user, subject="New action", body="x", dedupe_key="a:1")
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_user_with_no_channel_gets_nothing():
    user = UserFactory(notify_by_email=False, slack_webhook_url="")
    assert notification_create(user=user, subject="s", body="b", dedupe_key="k") == []
    assert not Notification.objects.exists()


def test_slack_webhook_users_get_a_webhook_post(webhook, django_capture_on_commit_callbacks):
    server, hook = webhook
    user = UserFactory(notify_by_email=False, slack_webhook_url=f"http://127.0.0.1:{server.server_port}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=user, subject="Overdue", body="Action 7", url="/a/7/", dedupe_key="k")
    assert Notification.objects.get().status == "sent"
    assert "Overdue" in hook.received[0]["text"]
    assert "/a/7/" in hook.received[0]["text"]


def test_a_failing_webhook_is_marked_failed_and_retried_later(webhook, django_capture_on_commit_callbacks):
    server, hook = webhook
    hook.status = 500
    user = UserFactory(notify_by_email=False, slack_webhook_url=f"http://127.0.0.1:{server.server_port}/h")
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=user, subject="Overdue", body="b", dedupe_key="k")
    row = Notification.objects.get()
    assert row.status == "failed"
    assert "HTTP 500" in row.last_error
    assert row.next_attempt_at > timezone.now()
    hook.status = 200
    assert notification_retry_due() == 0  # back-off not over yet
    assert notification_retry_due(now=row.next_attempt_at + timedelta(seconds=1)) == 1
    row.refresh_from_db()
    assert row.status == "sent"
    assert row.attempts == 2


def test_a_notification_gives_up_after_max_attempts(webhook):
    server, hook = webhook
    hook.status = 503
    user = UserFactory(notify_by_email=False, slack_webhook_url=f"http://127.0.0.1:{server.server_port}/h")
    row = Notification.objects.create(
        user=user, channel="slack", subject="s", body="b", dedupe_key="k", attempts=MAX_ATTEMPTS - 1
    )
    assert notification_send(notification_id=row.id) == "gave_up"


def test_a_sent_notification_is_not_sent_again():
    user = UserFactory()
    row = Notification.objects.create(user=user, channel="email", subject="s", body="b", dedupe_key="k")
    assert notification_send(notification_id=row.id) == "sent"
    assert notification_send(notification_id=row.id) is None
    assert len(mail.outbox) == 1


def test_digest_users_get_their_emails_held_then_one_digest_a_day(django_capture_on_commit_callbacks):
    user = UserFactory(notify_by_email=True, daily_digest=True)
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(user=user, subject="First", body="b", url="/a/1/", dedupe_key="k1")
        notification_create(user=user, subject="Second", body="b", dedupe_key="k2")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert notification_digest_send() == 1
        assert notification_digest_send() == 0
    assert len(mail.outbox) == 1
    assert "First" in mail.outbox[0].body and "Second" in mail.outbox[0].body
    assert not Notification.objects.filter(status="digest").exists()
