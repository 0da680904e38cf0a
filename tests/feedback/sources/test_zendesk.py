from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, SignatureError, adapter_for
from feedback.sources.zendesk import ZendeskAdapter

from .conftest import (
    PROPERTY,
    bearer,
    config,
    fixture_bytes,
    header_dicts,
    json_values,
    parse_or_payload_error,
    verify_or_signature_error,
)

adapter = adapter_for("zendesk")
SOURCE = config("zendesk")
# Zendesk's published verification example (developer.zendesk.com, "Verifying webhook authenticity").
DOC_SECRET = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
DOC_BODY = b'{"say": "hello"}'
DOC_TS = "2021-07-25T10:00:00Z"
DOC_SIG = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="
DOC_NOW = datetime(2021, 7, 25, 10, 0, tzinfo=UTC).timestamp()
SIGNED = config("zendesk", secret=DOC_SECRET)


def doc_headers(signature: str = DOC_SIG, ts: str = DOC_TS) -> dict[str, str]:
    return {
        **bearer(),
        "x-zendesk-webhook-signature": signature,
        "x-zendesk-webhook-signature-timestamp": ts,
    }


def at(now: float) -> ZendeskAdapter:
    return ZendeskAdapter(clock=lambda: now)


def parse(body: bytes, source=SOURCE):
    return adapter.parse(body=body, headers={}, source=source)


def test_zendesk_bearer_token_is_enough_without_a_secret() -> None:
    adapter.verify(body=DOC_BODY, headers=bearer(), source=SOURCE)
    with pytest.raises(SignatureError):
        adapter.verify(body=DOC_BODY, headers={}, source=SOURCE)


def test_zendesk_accepts_the_published_signature_example() -> None:
    at(DOC_NOW).verify(body=DOC_BODY, headers=doc_headers(), source=SIGNED)


def test_zendesk_accepts_timestamp_then_body_as_the_main_docs_describe() -> None:
    digest = hmac.new(DOC_SECRET.encode(), DOC_TS.encode() + DOC_BODY, hashlib.sha256).digest()
    at(DOC_NOW).verify(body=DOC_BODY, headers=doc_headers(base64.b64encode(digest).decode()), source=SIGNED)


def test_zendesk_refuses_a_tampered_body() -> None:
    with pytest.raises(SignatureError):
        at(DOC_NOW).verify(body=b'{"say": "bye"}', headers=doc_headers(), source=SIGNED)


def test_zendesk_refuses_a_stale_timestamp() -> None:
    with pytest.raises(SignatureError, match="Stale"):
        at(DOC_NOW + 301).verify(body=DOC_BODY, headers=doc_headers(), source=SIGNED)


def test_zendesk_refuses_a_missing_signature_when_a_secret_is_set() -> None:
    with pytest.raises(SignatureError):
        at(DOC_NOW).verify(body=DOC_BODY, headers=bearer(), source=SIGNED)


def test_zendesk_signature_does_not_replace_the_token() -> None:
    headers = doc_headers()
    del headers["authorization"]
    with pytest.raises(SignatureError):
        at(DOC_NOW).verify(body=DOC_BODY, headers=headers, source=SIGNED)


def test_zendesk_rating_object_good_is_csat_5() -> None:
    (response,) = parse(fixture_bytes("zendesk", "satisfaction_rating.json")).responses
    assert response.external_id == "35436"  # the rating's id (issue 23); the ticket is in answers
    assert response.answers["ticket_id"] == 208
    assert response.scores == {"csat": 5}
    assert response.comment == "Awesome support!"
    assert response.customer.external_id == "7881"
    assert response.submitted_at == datetime(2011, 7, 20, 22, 55, 29, tzinfo=UTC)
    assert response.answers["id"] == 35436


def test_zendesk_trigger_bad_is_csat_1_with_requester() -> None:
    (response,) = parse(fixture_bytes("zendesk", "trigger_bad.json")).responses
    assert response.external_id == "209"  # a trigger sends no rating id: the ticket is the key
    assert response.answers["ticket_id"] == "209"
    assert response.scores == {"csat": 1}
    assert response.comment == "Nobody answered my question."
    assert (response.customer.email, response.customer.name) == ("jdoe@example.com", "Jane Doe")


@pytest.mark.parametrize("label", ["offered", "unoffered", "Offered", "Unoffered", "Not Offered", ""])
def test_zendesk_offered_and_unoffered_are_not_scores(label: str) -> None:
    payload = json.loads(fixture_bytes("zendesk", "satisfaction_rating.json"))
    payload["satisfaction_rating"]["score"] = label
    (response,) = parse(json.dumps(payload).encode()).responses
    assert response.scores == {}


def test_zendesk_offered_trigger_has_no_score() -> None:
    (response,) = parse(fixture_bytes("zendesk", "trigger_offered.json")).responses
    assert response.scores == {}


def test_zendesk_labels_with_explanations_still_map() -> None:
    payload = json.loads(fixture_bytes("zendesk", "trigger_bad.json"))
    payload["ticket"]["satisfaction"]["current_rating"] = "Good, I'm satisfied"
    (response,) = parse(json.dumps(payload).encode()).responses
    assert response.scores == {"csat": 5}


def test_zendesk_unknown_label_is_a_field_error() -> None:
    payload = json.loads(fixture_bytes("zendesk", "satisfaction_rating.json"))
    payload["satisfaction_rating"]["score"] = "amazing"
    with pytest.raises(PayloadError) as exc:
        parse(json.dumps(payload).encode())
    assert "score" in exc.value.errors


def test_zendesk_flat_rating_object_parses() -> None:
    payload = json.loads(fixture_bytes("zendesk", "satisfaction_rating.json"))["satisfaction_rating"]
    (response,) = parse(json.dumps(payload).encode()).responses
    assert response.scores == {"csat": 5}


def test_zendesk_unrecognised_body_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        parse(b'{"hello": "world"}')


@PROPERTY
@given(st.binary(max_size=300))
def test_zendesk_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(json_values, json_values)
def test_zendesk_arbitrary_json_raises_only_payload_errors(rating: object, ticket: object) -> None:
    parse_or_payload_error(adapter, json.dumps({"satisfaction_rating": rating}).encode(), SOURCE)
    parse_or_payload_error(adapter, json.dumps({"ticket": ticket}).encode(), SOURCE)


@PROPERTY
@given(header_dicts, st.text(max_size=40), st.text(max_size=40))
def test_zendesk_arbitrary_headers_raise_only_signature_errors(headers: dict, sig: str, ts: str) -> None:
    verify_or_signature_error(adapter, DOC_BODY, headers, SIGNED)
    merged = {**bearer(), "x-zendesk-webhook-signature": sig, "x-zendesk-webhook-signature-timestamp": ts}
    verify_or_signature_error(adapter, DOC_BODY, merged, SIGNED)


def test_zendesk_external_id_is_the_rating_id_not_the_ticket(  # issue 23
) -> None:
    payload = json.loads(fixture_bytes("zendesk", "satisfaction_rating.json"))
    (first,) = parse(json.dumps(payload).encode()).responses
    payload["satisfaction_rating"]["id"] = 35437  # a second rating on the same ticket 208
    (second,) = parse(json.dumps(payload).encode()).responses
    assert (first.external_id, second.external_id) == ("35436", "35437")
    assert first.answers["ticket_id"] == second.answers["ticket_id"] == 208


def test_zendesk_keeps_the_ratings_own_time() -> None:
    (response,) = parse(fixture_bytes("zendesk", "satisfaction_rating.json")).responses
    assert response.submitted_at == datetime(2011, 7, 20, 22, 55, 29, tzinfo=UTC)
    assert response.updated_at == datetime(2011, 7, 20, 22, 55, 29, tzinfo=UTC)


def test_zendesk_trigger_with_a_rating_id_uses_it() -> None:
    payload = json.loads(fixture_bytes("zendesk", "trigger_bad.json"))
    payload["ticket"]["satisfaction"]["id"] = "35440"
    (response,) = parse(json.dumps(payload).encode()).responses
    assert response.external_id == "35440"
    assert response.answers["ticket_id"] == "209"
