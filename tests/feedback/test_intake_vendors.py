"""Vendor payloads (copied from each vendor's documentation, see tests/fixtures/vendors) through
the real endpoint: authentication, reply codes, upserts. Adapter details are tested in
tests/feedback/sources/."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedback.models import RawDelivery, Response
from tests.factories import SourceFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"


def fixture(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


def post(client, source, body: bytes, content_type: str = "application/json", **headers: str):
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    return client.post(f"/api/v1/intake/{source.slug}/", data=body, content_type=content_type, **extra)


def test_typeform_known_answer_signature_is_accepted_through_the_endpoint(client, dept_a):
    source = SourceFactory(slug="tf", kind="typeform", secret="typeform_secret", program__department=dept_a)
    body = (
        b'{"event_id":"01H","event_type":"form_response","form_response":{"form_id":"abc",'
        b'"token":"tok","submitted_at":"2023-11-14T22:13:20Z","answers":[]}}'
    )
    good = post(
        client, source, body, typeform_signature="sha256=tpceH674tX4nhoHSDRkfV4/WGakns3OkNWpJ7GGZMko="
    )
    assert good.status_code == 201, good.content
    bad = post(
        client, source, body + b" ", typeform_signature="sha256=tpceH674tX4nhoHSDRkfV4/WGakns3OkNWpJ7GGZMko="
    )
    assert bad.status_code == 401
    delivery = RawDelivery.objects.get(status_code=201)
    assert delivery.headers["typeform-signature"] == "[redacted]"


def test_typeform_documented_payload_creates_then_dedupes(client, dept_a):
    source = SourceFactory(slug="tf2", kind="typeform", secret="s3cret", program__department=dept_a)
    body = fixture("typeform", "form_response.json")
    sig = "sha256=" + base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    first = post(client, source, body, typeform_signature=sig)
    second = post(client, source, body, typeform_signature=sig)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Response.objects.count() == 1


def test_delighted_created_then_updated_upserts(client, dept_a):
    source = SourceFactory(slug="dl", kind="delighted", program__department=dept_a)
    auth = {"authorization": f"Bearer {source.token}"}
    created = post(client, source, fixture("delighted", "survey_response_created.json"), **auth)
    updated = post(client, source, fixture("delighted", "survey_response_updated.json"), **auth)
    assert created.status_code == 201, created.content
    assert updated.status_code == 200
    assert updated.json()["status"] == "updated"
    assert updated.json()["id"] == created.json()["id"]
    again = post(client, source, fixture("delighted", "survey_response_created.json"), **auth)
    assert again.json()["status"] == "duplicate"  # the older event never overwrites
    assert Response.objects.count() == 1


FB_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def formbricks(client, source, name: str, webhook_id: str, sent_at: datetime | None = None):
    from feedback.sources.formbricks import sign_for_tests

    body = fixture("formbricks", name)
    payload = json.loads(body)
    if isinstance(payload, list):
        body = json.dumps(payload[0]).encode()
    headers = sign_for_tests(secret=FB_SECRET, webhook_id=webhook_id, sent_at=sent_at, body=body)
    return post(client, source, body, **headers)


def test_formbricks_retry_with_the_same_webhook_id_is_one_response(client, dept_a):
    source = SourceFactory(slug="fb", kind="formbricks", secret=FB_SECRET, program__department=dept_a)
    first = formbricks(client, source, "response_created.json", "msg_1")
    retry = formbricks(client, source, "response_created.json", "msg_1")
    assert first.status_code == 201, first.content
    assert (retry.status_code, retry.json()["id"]) == (200, first.json()["id"])
    finished = formbricks(client, source, "response_finished.json", "msg_2")
    assert finished.status_code == 200
    assert finished.json()["status"] in ("updated", "duplicate")
    assert Response.objects.count() == 1


def test_formbricks_replay_of_an_old_signature_is_401(client, dept_a):
    source = SourceFactory(slug="fb2", kind="formbricks", secret=FB_SECRET, program__department=dept_a)
    old = datetime.now(tz=UTC) - timedelta(minutes=10)
    assert formbricks(client, source, "response_created.json", "msg_9", sent_at=old).status_code == 401


def test_zendesk_bad_rating_is_csat_one(client, dept_a):
    source = SourceFactory(slug="zd", kind="zendesk", program__department=dept_a)
    reply = post(
        client, source, fixture("zendesk", "trigger_bad.json"), authorization=f"Bearer {source.token}"
    )
    assert reply.status_code == 201, reply.content
    response = Response.objects.get()
    assert (response.csat, response.csat_band) == (1, "low")


def test_helpscout_rating_through_the_endpoint(client, dept_a):
    source = SourceFactory(slug="hs", kind="helpscout", program__department=dept_a)
    reply = post(
        client,
        source,
        fixture("helpscout", "satisfaction_rating.json"),
        authorization=f"Bearer {source.token}",
    )
    assert reply.status_code == 201, reply.content
    assert Response.objects.get().csat in (1, 3, 5)


def test_intercom_ping_is_200_ignored(client, dept_a):
    source = SourceFactory(slug="ic", kind="intercom", program__department=dept_a)
    reply = post(client, source, fixture("intercom", "ping.json"), authorization=f"Bearer {source.token}")
    assert reply.status_code == 200, reply.content
    assert reply.json()["status"] == "ignored"
    assert Response.objects.count() == 0


@pytest.mark.parametrize("kind", ["delighted", "zendesk", "helpscout", "intercom"])
def test_bearer_vendors_refuse_a_missing_token(client, dept_a, kind):
    source = SourceFactory(slug=f"{kind}-nt", kind=kind, program__department=dept_a)
    assert post(client, source, b"{}").status_code == 401
