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

from .conftest import PROPERTY, bearer, config, fixture_bytes, json_values, parse_or_payload_error

adapter = adapter_for("helpscout")
SOURCE = config("helpscout")
BODY = fixture_bytes("helpscout", "satisfaction_rating.json")
SECRET = "helpscout-test-secret"
SIGNED = config("helpscout", secret=SECRET)


def signature(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return {**bearer(), "x-helpscout-signature": base64.b64encode(digest).decode()}


def test_helpscout_bearer_token_is_enough_without_a_secret() -> None:
    adapter.verify(body=BODY, headers=bearer(), source=SOURCE)


def test_helpscout_signature_is_checked_when_a_secret_is_set() -> None:
    adapter.verify(body=BODY, headers=signature(BODY), source=SIGNED)
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers=signature(BODY, "other"), source=SIGNED)
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY + b"\n", headers=signature(BODY), source=SIGNED)
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers=bearer(), source=SIGNED)


def test_helpscout_documented_rating_parses() -> None:
    (response,) = adapter.parse(
        body=BODY, headers={"x-helpscout-event": "satisfaction.ratings"}, source=SOURCE
    ).responses
    assert response.external_id == "5434"
    assert response.scores == {"csat": 5}
    assert response.comment == "he was really helpful"
    assert (response.customer.external_id, response.customer.email, response.customer.name) == (
        "449379",
        "john.doe@gmail.com",
        "John Doe",
    )
    assert response.submitted_at == datetime(2015, 4, 13, 12, 34, 12, tzinfo=UTC)
    assert response.updated_at == datetime(2015, 4, 14, 20, 18, 33, tzinfo=UTC)
    assert response.answers["ticketId"] == 1560011


@pytest.mark.parametrize(
    ("label", "value"), [("Great", 5), ("Okay", 3), ("Not Good", 1), ("Bad", 1), ("not  good", 1)]
)
def test_helpscout_labels_map_onto_csat(label: str, value: int) -> None:
    payload = json.loads(BODY)
    payload["rating"] = label
    (response,) = adapter.parse(body=json.dumps(payload).encode(), headers={}, source=SOURCE).responses
    assert response.scores == {"csat": value}


def test_helpscout_unknown_label_is_a_field_error() -> None:
    payload = json.loads(BODY)
    payload["rating"] = "Superb"
    with pytest.raises(PayloadError) as exc:
        adapter.parse(body=json.dumps(payload).encode(), headers={}, source=SOURCE)
    assert "rating" in exc.value.errors


def test_helpscout_other_events_are_ignored() -> None:
    result = adapter.parse(body=b"{}", headers={"x-helpscout-event": "convo.created"}, source=SOURCE)
    assert result.responses == [] and result.ignored


@PROPERTY
@given(st.binary(max_size=300))
def test_helpscout_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(st.dictionaries(st.sampled_from(["id", "rating", "customer", "createdAt", "comments"]), json_values))
def test_helpscout_arbitrary_json_raises_only_payload_errors(data: dict) -> None:
    parse_or_payload_error(adapter, json.dumps(data).encode(), SOURCE)
