from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import SignatureError, adapter_for

from .conftest import PROPERTY, bearer, config, fixture_bytes, json_values, parse_or_payload_error

adapter = adapter_for("intercom")
SOURCE = config("intercom", field_map={"department": "team"})
BODY = fixture_bytes("intercom", "conversation_rating_added.json")
SECRET = "intercom-client-secret"
SIGNED = config("intercom", secret=SECRET)


def signature(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        **bearer(),
        "x-hub-signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
    }


def test_intercom_bearer_token_is_enough_without_a_secret() -> None:
    adapter.verify(body=BODY, headers=bearer(), source=SOURCE)
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers={}, source=SOURCE)


def test_intercom_hub_signature_is_checked_when_a_secret_is_set() -> None:
    adapter.verify(body=BODY, headers=signature(BODY), source=SIGNED)
    for headers in (signature(BODY, "other"), bearer(), {**bearer(), "x-hub-signature": "sha256=abc"}):
        with pytest.raises(SignatureError):
            adapter.verify(body=BODY, headers=headers, source=SIGNED)


def test_intercom_rating_notification_parses() -> None:
    result = adapter.parse(body=BODY, headers={}, source=SOURCE)
    (response,) = result.responses
    assert result.delivery_id == "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"
    assert response.external_id == "147"
    assert response.scores == {"csat": 4}
    assert response.comment == "Quick and friendly"
    assert (response.customer.external_id, response.customer.email, response.customer.name) == (
        "70",
        "joe@example.com",
        "Joe Bloggs",
    )
    assert response.submitted_at == datetime.fromtimestamp(1539897400, tz=UTC)
    assert response.department == "Billing"


def test_intercom_ping_is_ignored() -> None:
    result = adapter.parse(body=fixture_bytes("intercom", "ping.json"), headers={}, source=SOURCE)
    assert result.responses == [] and result.ignored


def test_intercom_unrated_conversation_invents_no_score() -> None:
    payload = json.loads(BODY)
    payload["topic"] = "conversation.admin.closed"
    payload["data"]["item"]["conversation_rating"] = {"rating": None, "remark": None}
    result = adapter.parse(body=json.dumps(payload).encode(), headers={}, source=SOURCE)
    assert result.responses == [] and result.ignored


@PROPERTY
@given(st.binary(max_size=300))
def test_intercom_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(json_values, json_values)
def test_intercom_arbitrary_items_raise_only_payload_errors(item: object, rating: object) -> None:
    if isinstance(item, dict):
        item = {**item, "conversation_rating": rating}
    body = json.dumps({"topic": "conversation.rating.added", "data": {"item": item}}).encode()
    parse_or_payload_error(adapter, body, SOURCE)
