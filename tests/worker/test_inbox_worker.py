"""Inbox e-mails on a real Redis and a real Celery worker, against a local SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from charter.inbox import inbox_notify
from charter.models import InboxItem
from charter.tasks import inbox_email_retry_task
from tests.factories import UserFactory
from tests.worker.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_inbox_email_goes_out_through_the_worker_and_is_retried_after_smtp_comes_back(
    celery_worker, smtp_server
):
    smtp_server.down()
    person = UserFactory(username="evan", email="evan@example.org")
    inbox_notify(users=[person], kind="approval-requested", text="Mission v3 awaits your approval", url="/m/")
    wait_for(lambda: InboxItem.objects.filter(email_status="failed").exists())

    smtp_server.up()
    before = len(smtp_server.messages)
    InboxItem.objects.update(created_at=timezone.now() - timedelta(hours=1))  # past its back-off
    inbox_email_retry_task.apply_async()
    inbox_email_retry_task.apply_async()  # a double tick sends nothing twice
    wait_for(lambda: InboxItem.objects.filter(email_status="sent").exists())
    item = InboxItem.objects.get()
    assert item.email_attempts == 2
    wait_for(lambda: len(smtp_server.messages) - before >= 1)
    assert len(smtp_server.messages) - before == 1
    assert "Mission v3 awaits your approval" in smtp_server.messages[-1]["data"]
