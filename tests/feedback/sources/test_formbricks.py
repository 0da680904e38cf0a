from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, SignatureError, adapter_for
from feedback.sources.formbricks import FormbricksAdapter, sign_for_tests

from .conftest import (
    PROPERTY,
    config,
    fixture_bytes,
    header_dicts,
    json_values,
    parse_or_payload_error,
    verify_or_signature_error,
)

adapter = adapter_for("formbricks")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SOURCE = config("formbricks", secret=SECRET, field_map={"comment": "q2"})

# The Standard Webhooks specification's published test vector (Formbricks implements that spec).
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(signature: str = VECTOR_SIG, ts: int = VECTOR_TS) -> dict[str, str]:
    return {"webhook-id": VECTOR_ID, "webhook-timestamp": str(ts), "webhook-signature": signature}


def at(seconds: float) -> FormbricksAdapter:
    return FormbricksAdapter(clock=lambda: seconds)


def test_formbricks_accepts_the_standard_webhooks_published_vector() -> None:
    at(VECTOR_TS).verify(body=VECTOR_BODY, headers=vector_headers(), source=SOURCE)


def test_formbricks_accepts_any_of_several_space_separated_signatures() -> None:
    headers = vector_headers(f"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {VECTOR_SIG}")
    at(VECTOR_TS).verify(body=VECTOR_BODY, headers=headers, source=SOURCE)


def test_formbricks_accepts_a_secret_without_the_whsec_prefix() -> None:
    source = config("formbricks", secret="MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    at(VECTOR_TS).verify(body=VECTOR_BODY, headers=vector_headers(), source=source)


def test_formbricks_refuses_a_tampered_body() -> None:
    with pytest.raises(SignatureError):
        at(VECTOR_TS).verify(body=b'{"test": 2432232315}', headers=vector_headers(), source=SOURCE)


def test_formbricks_refuses_a_signature_replayed_after_five_minutes() -> None:
    with pytest.raises(SignatureError, match="Stale"):
        at(VECTOR_TS + 301).verify(body=VECTOR_BODY, headers=vector_headers(), source=SOURCE)


def test_formbricks_refuses_a_timestamp_from_the_future() -> None:
    with pytest.raises(SignatureError, match="Stale"):
        at(VECTOR_TS - 301).verify(body=VECTOR_BODY, headers=vector_headers(), source=SOURCE)


def test_formbricks_accepts_within_the_window() -> None:
    at(VECTOR_TS + 299).verify(body=VECTOR_BODY, headers=vector_headers(), source=SOURCE)


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_formbricks_refuses_missing_headers(drop: str) -> None:
    headers = vector_headers()
    del headers[drop]
    with pytest.raises(SignatureError):
        at(VECTOR_TS).verify(body=VECTOR_BODY, headers=headers, source=SOURCE)


def test_formbricks_refuses_v2_or_garbage_signatures() -> None:
    for signature in ("v2," + VECTOR_SIG[3:], "nonsense", "v1,"):
        with pytest.raises(SignatureError):
            at(VECTOR_TS).verify(body=VECTOR_BODY, headers=vector_headers(signature), source=SOURCE)


def test_formbricks_source_without_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="no signing secret"):
        at(VECTOR_TS).verify(body=VECTOR_BODY, headers=vector_headers(), source=config("formbricks"))


def test_formbricks_live_clock_accepts_a_fresh_signature() -> None:
    body = fixture_bytes("formbricks", "response_finished.json")
    adapter.verify(
        body=body, headers=sign_for_tests(secret=SECRET, webhook_id="m1", body=body), source=SOURCE
    )


def test_formbricks_live_clock_refuses_an_old_signature() -> None:
    body = fixture_bytes("formbricks", "response_finished.json")
    old = datetime.now(tz=UTC) - timedelta(minutes=6)
    headers = sign_for_tests(secret=SECRET, webhook_id="m1", body=body, sent_at=old)
    with pytest.raises(SignatureError):
        adapter.verify(body=body, headers=headers, source=SOURCE)


def test_formbricks_documented_created_payload_parses_without_a_score() -> None:
    body = fixture_bytes("formbricks", "response_created.json")
    result = adapter.parse(body=body, headers={"webhook-id": "msg-1"}, source=SOURCE)
    (response,) = result.responses
    assert result.delivery_id == "msg-1"
    assert response.external_id == "responseId"
    assert response.scores == {}
    assert response.complete is False
    assert response.answers["q1"] == "clicked"
    assert response.submitted_at == datetime(2025, 7, 24, 7, 47, 29, 507000, tzinfo=UTC)


def test_formbricks_updates_carry_a_later_updated_at() -> None:
    parsed = [
        adapter.parse(body=fixture_bytes("formbricks", name), headers={}, source=SOURCE).responses[0]
        for name in ("response_created.json", "response_updated.json", "response_finished.json")
    ]
    assert len({r.external_id for r in parsed}) == 1
    assert parsed[0].updated_at < parsed[1].updated_at < parsed[2].updated_at
    assert [r.complete for r in parsed] == [False, False, True]
    assert [r.comment for r in parsed] == ["", "Just browsing", "accepted"]


def test_formbricks_maps_scores_and_contact() -> None:
    payload = json.loads(fixture_bytes("formbricks", "response_finished.json"))[0]
    payload["data"]["data"]["npsQ"] = 9
    payload["data"]["contact"] = {"id": "ct_1", "userId": "u-42"}
    payload["data"]["contactAttributes"] = {"email": "ann@example.com", "userId": "u-42", "plan": "pro"}
    source = config("formbricks", secret=SECRET, field_map={"nps": "npsQ"})
    (response,) = adapter.parse(body=json.dumps(payload).encode(), headers={}, source=source).responses
    assert response.scores == {"nps": 9}
    assert (response.customer.external_id, response.customer.email) == ("u-42", "ann@example.com")
    assert response.customer.attributes == {"plan": "pro"}


def test_formbricks_unwrapped_object_payload_parses_too() -> None:
    payload = json.loads(fixture_bytes("formbricks", "response_finished.json"))[0]
    (response,) = adapter.parse(body=json.dumps(payload).encode(), headers={}, source=SOURCE).responses
    assert response.external_id == "responseId"


def test_formbricks_unknown_events_are_ignored() -> None:
    result = adapter.parse(body=b'{"event": "testEndpoint"}', headers={}, source=SOURCE)
    assert result.responses == [] and result.ignored


def test_formbricks_response_event_without_data_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        adapter.parse(body=b'{"event": "responseCreated"}', headers={}, source=SOURCE)


@PROPERTY
@given(st.binary(max_size=300))
def test_formbricks_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(json_values, st.sampled_from(["responseCreated", "responseFinished", "x"]))
def test_formbricks_arbitrary_json_raises_only_payload_errors(data: object, event: str) -> None:
    parse_or_payload_error(adapter, json.dumps({"event": event, "data": data}).encode(), SOURCE)


@PROPERTY
@given(header_dicts, st.binary(max_size=100))
def test_formbricks_arbitrary_headers_raise_only_signature_errors(headers: dict, body: bytes) -> None:
    verify_or_signature_error(adapter, body, headers, SOURCE)


@PROPERTY
@given(st.text(max_size=20), st.text(max_size=15), st.text(max_size=80))
def test_formbricks_arbitrary_header_values_raise_only_signature_errors(wid: str, ts: str, sig: str) -> None:
    headers = {"webhook-id": wid, "webhook-timestamp": ts, "webhook-signature": sig}
    verify_or_signature_error(adapter, b"{}", headers, SOURCE)
