from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, SignatureError, adapter_for

from .conftest import PROPERTY, bearer, config, fixture_bytes, json_values, parse_or_payload_error

adapter = adapter_for("delighted")
SOURCE = config("delighted")
CREATED = fixture_bytes("delighted", "survey_response_created.json")
UPDATED = fixture_bytes("delighted", "survey_response_updated.json")


def parse(body: bytes, source=SOURCE):
    return adapter.parse(body=body, headers={}, source=source)


def test_delighted_authenticates_with_the_bearer_token() -> None:
    adapter.verify(body=UPDATED, headers=bearer(), source=SOURCE)
    with pytest.raises(SignatureError):
        adapter.verify(body=UPDATED, headers=bearer("nope"), source=SOURCE)
    with pytest.raises(SignatureError):
        adapter.verify(body=UPDATED, headers={}, source=SOURCE)


def test_delighted_documented_update_parses() -> None:
    result = parse(UPDATED)
    (response,) = result.responses
    assert result.delivery_id == "b8d057c59327541d7ec2104c0a9a255ad1997fb00831b9c6bbf09561e6d5cbd0"
    assert response.external_id == "5435"
    assert response.scores == {"nps": 9}
    assert response.comment == "Your service is fast and flawless!"
    assert (response.customer.external_id, response.customer.email, response.customer.name) == (
        "5975",
        "charlie_gravis@example.com",
        "Charlie Gravis",
    )
    assert response.submitted_at == datetime.fromtimestamp(1732186844, tz=UTC)
    assert response.updated_at == datetime.fromtimestamp(1732187444, tz=UTC)
    assert response.answers["enum_z9EvYV"] == ["Convenience", "Friendly staff"]


def test_delighted_created_then_updated_share_the_id_and_the_update_is_newer() -> None:
    (created,) = parse(CREATED).responses
    (updated,) = parse(UPDATED).responses
    assert created.external_id == updated.external_id
    assert created.comment == "" and updated.comment
    assert created.updated_at < updated.updated_at


@pytest.mark.parametrize(
    ("survey_type", "metric"),
    [("nps", "nps"), ("enps", "nps"), ("csat", "csat"), ("smileys", "csat"), ("ces", "ces"), (None, "nps")],
)
def test_delighted_survey_type_chooses_the_metric(survey_type: str | None, metric: str) -> None:
    payload = json.loads(UPDATED)
    payload["event_data"]["survey_type"] = survey_type
    payload["event_data"]["score"] = 4
    (response,) = parse(json.dumps(payload).encode()).responses
    assert response.scores == {metric: 4}


def test_delighted_unknown_survey_type_is_refused() -> None:
    payload = json.loads(UPDATED)
    payload["event_data"]["survey_type"] = "thumbs"
    with pytest.raises(PayloadError) as exc:
        parse(json.dumps(payload).encode())
    assert "event_data.survey_type" in exc.value.errors


def test_delighted_without_a_score_records_none() -> None:
    payload = json.loads(UPDATED)
    payload["event_data"]["score"] = None
    (response,) = parse(json.dumps(payload).encode()).responses
    assert response.scores == {}


def test_delighted_person_properties_feed_the_field_map() -> None:
    payload = json.loads(UPDATED)
    payload["event_data"]["person_properties"] = {"Team": "Support", "Purchase": "In store"}
    source = config("delighted", field_map={"department": "Team", "touchpoint": "Purchase"})
    (response,) = parse(json.dumps(payload).encode(), source).responses
    assert (response.department, response.touchpoint) == ("Support", "In store")
    assert response.answers["person_properties"] == {"Team": "Support", "Purchase": "In store"}


def test_delighted_unsubscribe_is_ignored() -> None:
    result = parse(b'{"event_type": "unsubscribe.created", "event_data": {"person": {"id": "1"}}}')
    assert result.responses == [] and result.ignored


@PROPERTY
@given(st.binary(max_size=300))
def test_delighted_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(json_values)
def test_delighted_arbitrary_event_data_raises_only_payload_errors(event: object) -> None:
    parse_or_payload_error(
        adapter, json.dumps({"event_type": "survey_response.created", "event_data": event}).encode(), SOURCE
    )
