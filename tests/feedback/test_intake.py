"""The intake endpoint: every reply code, idempotency, losslessness, bad input."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from feedback.models import Customer, OutboxEvent, RawDelivery, Response
from tests.factories import DepartmentFactory, SourceFactory


@pytest.fixture
def source(dept_a):
    return SourceFactory(slug="api", kind="generic", program__department=dept_a)


def post(client: Client, source, body, *, token: str | None = None, content_type="application/json", **extra):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {}
    token = source.token if token is None else token
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.post(
        reverse("intake", kwargs={"slug": source.slug}),
        data=data,
        content_type=content_type,
        **headers,
        **extra,
    )


BODY = {
    "external_id": "r-1",
    "submitted_at": "2026-11-01T10:00:00Z",
    "customer": {"external_id": "c-1", "email": " Ann@Example.ORG ", "name": "Ann"},
    "scores": {"nps": 3},
    "comment": "Waited two weeks for a refund.",
}


def test_a_new_response_is_created_with_201_and_its_band(client, source):
    reply = post(client, source, BODY)
    assert reply.status_code == 201, reply.content
    data = reply.json()
    assert data["status"] == "created"
    response = Response.objects.get(id=data["id"])
    assert response.nps == 3
    assert response.nps_band == "detractor"
    assert response.scales == {"nps": [0, 10]}
    assert response.department == source.program.department
    assert response.customer.email == "ann@example.org"


def test_the_same_delivery_ten_times_makes_one_response_with_the_same_id(client, source):
    replies = [post(client, source, BODY) for _ in range(10)]
    assert [r.status_code for r in replies] == [201] + [200] * 9
    assert {r.json()["id"] for r in replies} == {replies[0].json()["id"]}
    assert {r.json()["status"] for r in replies[1:]} == {"duplicate"}
    assert Response.objects.count() == 1
    assert OutboxEvent.objects.filter(kind="response_process").count() == 1


def test_a_later_vendor_update_upserts_and_answers_updated(client, source):
    first = post(client, source, {**BODY, "updated_at": "2026-11-01T10:00:00Z"})
    later = post(client, source, {**BODY, "updated_at": "2026-11-02T10:00:00Z", "scores": {"nps": 9}})
    assert later.status_code == 200
    assert later.json() | {} == later.json()
    assert later.json()["status"] == "updated"
    assert later.json()["id"] == first.json()["id"]
    response = Response.objects.get()
    assert (response.nps, response.nps_band) == (9, "promoter")


def test_an_older_vendor_update_never_overwrites(client, source):
    post(client, source, {**BODY, "updated_at": "2026-11-02T10:00:00Z", "scores": {"nps": 9}})
    older = post(client, source, {**BODY, "updated_at": "2026-11-01T10:00:00Z", "scores": {"nps": 1}})
    assert older.status_code == 200
    assert older.json()["status"] == "duplicate"
    assert Response.objects.get().nps == 9


def test_unknown_or_inactive_source_is_404(client, source):
    assert client.post("/api/v1/intake/nope/", data="{}", content_type="application/json").status_code == 404
    source.is_active = False
    source.save()
    assert post(client, source, BODY).status_code == 404


def test_missing_or_bad_token_is_401_and_the_delivery_is_kept(client, source):
    assert post(client, source, BODY, token="").status_code == 401
    assert post(client, source, BODY, token="wrong").status_code == 401
    assert Response.objects.count() == 0
    kept = RawDelivery.objects.filter(verdict="rejected", status_code=401)
    assert kept.count() == 2
    assert all(d.headers.get("authorization", "[redacted]") == "[redacted]" for d in kept)


def test_malformed_json_is_400_with_errors(client, source):
    reply = post(client, source, b'{"external_id": ')
    assert reply.status_code == 400
    assert "errors" in reply.json()


def test_deeply_nested_json_is_400_not_500(client, source):
    body = b'{"external_id": "x", "comment": "a", "answers": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    reply = post(client, source, body)
    assert reply.status_code in (400, 413)
    assert "errors" in reply.json()


def test_an_out_of_scale_score_is_400_with_the_field(client, source):
    reply = post(client, source, {**BODY, "scores": {"nps": 11}})
    assert reply.status_code == 400
    assert reply.json() == {"errors": {"scores.nps": ["NPS 11 is outside its scale 0–10."]}}


def test_the_source_scale_is_used_for_validation_and_band(client, source):
    source.scales = {"csat": [1, 7]}
    source.save()
    assert post(client, source, {**BODY, "scores": {"csat": 6}}).status_code == 201
    response = Response.objects.get()
    assert (response.csat_band, response.scales) == ("high", {"csat": [1, 7]})


def test_a_body_over_one_megabyte_is_413(client, source):
    reply = post(client, source, {**BODY, "comment": "x" * (1024 * 1024 + 10)})
    assert reply.status_code == 413
    assert RawDelivery.objects.get().status_code == 413


def test_a_wrong_content_type_is_415(client, source):
    reply = post(client, source, "external_id=1", content_type="text/plain")
    assert reply.status_code == 415
    assert "content_type" in reply.json()["errors"]


def test_nul_bytes_are_refused_or_stored_cleanly_never_500(client, source):
    reply = post(client, source, {**BODY, "comment": "bad\u0000byte"})
    assert reply.status_code in (201, 400)
    if reply.status_code == 201:
        assert "\x00" not in Response.objects.get().comment


def test_html_in_a_comment_is_stored_as_sent(client, source):
    html = '<script>alert("x")</script><b>late</b>'
    assert post(client, source, {**BODY, "comment": html}).status_code == 201
    assert Response.objects.get().comment == html


def test_the_rate_limit_answers_429_with_retry_after(client, source):
    source.rate_limit_per_minute = 2
    source.save()
    codes = [post(client, source, {**BODY, "external_id": f"r-{i}"}).status_code for i in range(3)]
    assert codes[:2] == [201, 201]
    assert codes[2] == 429
    reply = post(client, source, {**BODY, "external_id": "r-9"})
    assert 1 <= int(reply["Retry-After"]) <= 60


def test_the_raw_delivery_is_stored_with_secrets_stripped(client, source):
    post(
        client,
        source,
        BODY,
        HTTP_COOKIE="sessionid=abc",
        HTTP_X_HUB_SIGNATURE="sha1=deadbeef",
        HTTP_X_TRACE="t1",
    )
    delivery = RawDelivery.objects.get()
    assert bytes(delivery.body) == json.dumps(BODY).encode()
    assert delivery.verdict == "created"
    assert delivery.status_code == 201
    assert delivery.headers["authorization"] == "[redacted]"
    assert delivery.headers["x-hub-signature"] == "[redacted]"
    assert delivery.headers["x-trace"] == "t1"
    assert source.token not in json.dumps(delivery.headers)
    assert "abc" not in json.dumps(delivery.headers)


def test_the_outbox_row_is_written_with_the_response(client, source):
    reply = post(client, source, BODY)
    event = OutboxEvent.objects.get()
    assert (event.kind, event.object_id) == ("response_process", reply.json()["id"])


def test_the_department_role_picks_a_department_by_slug_or_name(client, source, dept_b):
    post(client, source, {**BODY, "department": "BILLING"})
    response = Response.objects.get()
    assert response.department == dept_b
    assert response.department_hint == "BILLING"


def test_an_unknown_department_falls_back_to_the_programs(client, source):
    post(client, source, {**BODY, "department": "Nowhere"})
    assert Response.objects.get().department == source.program.department


def test_customers_upsert_by_vendor_id_then_by_normalised_email(client, source):
    post(client, source, BODY)
    post(client, source, {**BODY, "external_id": "r-2", "customer": {"email": "ANN@example.org"}})
    post(client, source, {**BODY, "external_id": "r-3", "customer": {"external_id": "c-1"}})
    assert Customer.objects.count() == 1
    assert Response.objects.filter(customer__isnull=False).count() == 3


def test_a_ping_without_a_response_is_200_ignored(client, dept_a, monkeypatch):
    from feedback.sources import ParseResult
    from feedback.sources.generic import adapter

    source = SourceFactory(slug="ping", program__department=dept_a)
    monkeypatch.setattr(adapter, "parse", lambda **_kw: ParseResult(ignored="ping"))  # vendor-side shape
    reply = post(client, source, {"ping": True})
    assert reply.status_code == 200
    assert reply.json()["status"] == "ignored"
    assert RawDelivery.objects.get().verdict == "ignored"


def test_get_is_405_not_500(client, source):
    assert client.get(reverse("intake", kwargs={"slug": source.slug})).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_identical_deliveries_make_one_response():
    DepartmentFactory(slug="support")
    source = SourceFactory(slug="parallel", program__department__slug="support")
    codes: list[int] = []
    barrier = threading.Barrier(10)

    def deliver() -> None:
        try:
            barrier.wait()
            codes.append(post(Client(), source, BODY).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [200] * 9 + [201]
    assert Response.objects.filter(source=source).count() == 1
    assert OutboxEvent.objects.filter(kind="response_process").count() == 1


def test_old_submitted_at_is_kept(client, source):
    post(client, source, {**BODY, "submitted_at": "2020-01-02T03:04:05Z"})
    assert Response.objects.get().submitted_at < timezone.now() - timedelta(days=365)


def test_head_answers_200_so_vendors_can_check_the_url(client, source):
    assert client.head(reverse("intake", kwargs={"slug": source.slug})).status_code == 200
    assert client.head("/api/v1/intake/nope/").status_code == 200  # no slug is confirmed
