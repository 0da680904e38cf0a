"""What one webhook costs in SQL (issue 9, figure 1): pinned so a regression fails here.

A new generic response with a customer is five statements: the source (with program,
department and touchpoint), BEGIN, one probe (is (source, external_id) known? which
customer?), one INSERT writing the response, its outbox event and the raw delivery, COMMIT.
A duplicate is the same with the raw delivery's INSERT instead.
The transactional tests count the real BEGIN/COMMIT, as in production.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from feedback import outbox
from feedback.models import Customer, OutboxEvent, RawDelivery, Response
from tests.factories import CustomerFactory, DepartmentFactory, SourceFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relayed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Event ids handed to the relay after commit (no broker, no inline processing here)."""
    ids: list[int] = []
    monkeypatch.setattr(outbox, "outbox_relay", lambda *, event_ids: ids.extend(event_ids))
    return ids


@pytest.fixture
def source():  # type: ignore[no-untyped-def]
    DepartmentFactory(slug="support")
    return SourceFactory(slug="counted", program__department__slug="support")


def deliver(source, body: dict) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    client = Client()
    with CaptureQueriesContext(connection) as captured:
        reply = client.post(
            f"/api/v1/intake/{source.slug}/",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {source.token}"},
        )
    return reply.status_code, [q["sql"] for q in captured.captured_queries]


BODY = {
    "external_id": "q-1",
    "customer": {"external_id": "c-1", "email": "ann@example.org"},
    "scores": {"nps": 3},
    "comment": "Waited on hold.",
}


def test_a_new_response_of_a_known_customer_is_five_statements(source, relayed):
    customer = CustomerFactory(external_id="c-1", email="ann@example.org")
    code, statements = deliver(source, BODY)
    assert code == 201
    assert len(statements) == 5, "\n".join(statements)
    assert statements[1] == "BEGIN" and statements[-1] == "COMMIT"
    response = Response.objects.get(source=source, external_id="q-1")
    assert response.customer == customer
    assert response.nps_band == "detractor"
    assert response.department == source.program.department
    delivery = RawDelivery.objects.get(source=source)
    assert (delivery.verdict, delivery.status_code, delivery.response_id) == ("created", 201, response.id)
    event = OutboxEvent.objects.get(kind="response_process")
    assert event.object_id == response.id
    assert relayed == [event.id]


def test_a_new_customer_costs_one_more_insert(source, relayed):
    code, statements = deliver(source, BODY)
    assert code == 201
    assert len(statements) == 6, "\n".join(statements)
    customer = Customer.objects.get()
    assert (customer.external_id, customer.email) == ("c-1", "ann@example.org")
    assert Response.objects.get().customer == customer


def test_a_duplicate_is_five_statements_and_changes_nothing(source, relayed):
    deliver(source, BODY)
    before = Response.objects.values().get()
    retried = {**BODY, "comment": "Changed my mind.", "customer": {"email": "someone@example.org"}}
    code, statements = deliver(source, retried)
    assert code == 200
    assert len(statements) == 5, "\n".join(statements)
    assert Response.objects.values().get() == before
    assert list(RawDelivery.objects.order_by("id").values_list("verdict", flat=True)) == [
        "created",
        "duplicate",
    ]
    assert OutboxEvent.objects.count() == 1
    assert Customer.objects.count() == 1  # a retried delivery never creates nor fills a customer


def test_parallel_identical_deliveries_make_one_response_one_customer_one_event(source, relayed):
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        try:
            barrier.wait()
            codes.append(deliver(source, BODY)[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [200] * 7 + [201]
    assert Response.objects.count() == 1
    assert Customer.objects.count() == 1
    assert OutboxEvent.objects.count() == 1
    verdicts = sorted(RawDelivery.objects.values_list("verdict", flat=True))
    assert verdicts == ["created"] + ["duplicate"] * 7
