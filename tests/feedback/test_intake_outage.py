"""Nothing lost: with the broker unreachable the endpoint still answers 201 and the outbox row
stays for the sweeper."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from cxgov.celery import app
from feedback.models import OutboxEvent, Response
from tests.factories import DepartmentFactory, SourceFactory


@pytest.fixture
def dead_broker(settings):
    """Point Celery at a closed port (nothing listens on 127.0.0.1:9) and publish for real."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    old_url, old_pool = app.conf.broker_url, app._pool
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    app._pool = None
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app.conf.broker_url, app._pool = old_url, old_pool


@pytest.mark.django_db(transaction=True)
def test_intake_answers_201_with_the_broker_down_and_keeps_the_outbox_row(dead_broker):
    DepartmentFactory(slug="support")
    source = SourceFactory(slug="outage", program__department__slug="support")
    Client().get("/healthz")  # warm up imports and URL resolution, which are not what we time
    started = time.monotonic()
    reply = Client().post(
        f"/api/v1/intake/{source.slug}/",
        data=json.dumps({"external_id": "o-1", "scores": {"nps": 4}, "comment": "Broker is down"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {source.token}",
    )
    elapsed = time.monotonic() - started
    assert reply.status_code == 201, reply.content
    assert elapsed < 2.0  # the request never waits on the broker
    response = Response.objects.get(id=reply.json()["id"])
    event = OutboxEvent.objects.get(kind="response_process", object_id=response.id)
    deadline = time.monotonic() + 15  # bounded wait for the relay thread's failed attempt
    while time.monotonic() < deadline:
        event.refresh_from_db()
        if event.attempts:
            break
        time.sleep(0.1)
    assert event.attempts >= 1
    event.refresh_from_db()
    assert event.processed_at is None  # left for the sweeper
