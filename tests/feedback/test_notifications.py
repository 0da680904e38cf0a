"""Notifications: one row per enabled channel, deduplicated, digest, retried, never raising."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.models import Notification
from feedback.notifications import (
    MAX_ATTEMPTS,
    notification_create,
    notification_digest_send,
    notification_retry_due,
    notification_send,
    notification_send_many,
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


# --- many at once (what one relay message carries) ------------------------------------------


class CountingBackend(LocmemBackend):
    """The test mail server: counts connections; refuses mail to refused@… or, when
    ``down``, every connection."""

    connections = 0
    down = False

    def open(self) -> bool:
        type(self).connections += 1
        if type(self).down:
            raise ConnectionRefusedError("mail server down")
        return True

    def send_messages(self, messages):
        if any("refused@" in to for m in messages for to in m.to):
            raise OSError("550 mailbox unavailable")
        return super().send_messages(messages)


@pytest.fixture
def counting_mail(settings):
    settings.EMAIL_BACKEND = "tests.feedback.test_notifications.CountingBackend"
    CountingBackend.connections = 0
    CountingBackend.down = False
    yield CountingBackend


def _emails(count: int, **user) -> list[Notification]:
    return [
        Notification.objects.create(
            user=UserFactory(**user), channel="email", subject=f"Action {i}", body="b", dedupe_key=f"m:{i}"
        )
        for i in range(count)
    ]


def test_many_emails_share_one_connection_and_a_constant_number_of_queries(counting_mail):
    def send(rows):
        with CaptureQueriesContext(connection) as queries:
            assert notification_send_many(notification_ids=[r.id for r in rows]) == len(rows)
        return len(queries)

    few = send(_emails(2))
    Notification.objects.all().delete()
    mail.outbox.clear()
    counting_mail.connections = 0
    rows = _emails(7)
    assert send(rows) == few  # one locked read and one UPDATE, whatever the number
    assert counting_mail.connections == 1
    assert sorted(m.subject for m in mail.outbox) == sorted(r.subject for r in rows)
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0
    assert notification_send_many(notification_ids=[r.id for r in rows]) == 0  # sent is sent
    assert len(mail.outbox) == 7


def test_a_refused_email_records_its_own_failure_and_the_others_still_go(counting_mail):
    good = _emails(2)
    refused = UserFactory(email="refused@example.com")
    bad = Notification.objects.create(user=refused, channel="email", subject="s", body="b", dedupe_key="bad")
    assert notification_send_many(notification_ids=[good[0].id, bad.id, good[1].id]) == 2
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == ("failed", 1)
    assert "550 mailbox unavailable" in bad.last_error
    assert bad.next_attempt_at > timezone.now()
    assert set(Notification.objects.exclude(id=bad.id).values_list("status", flat=True)) == {"sent"}
    assert len(mail.outbox) == 2


def test_a_mail_server_down_fails_every_email_with_back_off_and_loses_none(counting_mail):
    counting_mail.down = True
    rows = _emails(3)
    assert notification_send_many(notification_ids=[r.id for r in rows]) == 0
    assert set(Notification.objects.values_list("status", "attempts")) == {("failed", 1)}
    assert "mail server down" in Notification.objects.first().last_error
    counting_mail.down = False
    later = timezone.now() + timedelta(minutes=5)
    assert notification_retry_due(now=later) == 3
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_many_sends_chat_alerts_on_their_own_and_skips_what_is_not_due(webhook, counting_mail):
    server, hook = webhook
    email = _emails(1)[0]
    chat = Notification.objects.create(
        user=UserFactory(slack_webhook_url=f"http://127.0.0.1:{server.server_port}/h"),
        channel="slack",
        subject="Overdue",
        body="b",
        dedupe_key="chat",
    )
    held = Notification.objects.create(
        user=UserFactory(), channel="email", subject="held", body="b", dedupe_key="held", status="digest"
    )
    assert notification_send_many(notification_ids=[chat.id, email.id, held.id, 999_999]) == 2
    assert [m.subject for m in mail.outbox] == [email.subject]
    assert "Overdue" in hook.received[0]["text"]
    held.refresh_from_db()
    assert held.status == "digest"
