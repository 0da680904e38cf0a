from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, SignatureError, adapter_for
from feedback.sources.surveymonkey import response_from_details

from .conftest import (
    PROPERTY,
    config,
    fixture_bytes,
    fixture_json,
    header_dicts,
    json_values,
    parse_or_payload_error,
    verify_or_signature_error,
)

adapter = adapter_for("surveymonkey")
SECRET = "sm-api-secret"
API_KEY = "sm-client-id"
SOURCE = config("surveymonkey", secret=SECRET, field_map={"nps": "319352786", "comment": "319352799"})
BODY = fixture_bytes("surveymonkey", "response_completed.json")


def signed(body: bytes, api_key: str = API_KEY, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(f"{api_key}&{secret}".encode(), body, hashlib.sha1).digest()
    return {"sm-apikey": api_key, "sm-signature": base64.b64encode(digest).decode()}


def test_surveymonkey_signature_keyed_by_api_key_and_secret_is_accepted() -> None:
    adapter.verify(body=BODY, headers=signed(BODY), source=SOURCE)


def test_surveymonkey_refuses_a_signature_made_for_another_api_key() -> None:
    headers = signed(BODY, api_key="other-client")
    headers["sm-apikey"] = API_KEY
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers=headers, source=SOURCE)


def test_surveymonkey_refuses_a_tampered_body() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY.replace(b"123456", b"654321"), headers=signed(BODY), source=SOURCE)


@pytest.mark.parametrize("drop", ["sm-apikey", "sm-signature"])
def test_surveymonkey_refuses_missing_headers(drop: str) -> None:
    headers = signed(BODY)
    del headers[drop]
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers=headers, source=SOURCE)


def test_surveymonkey_source_without_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="no signing secret"):
        adapter.verify(body=BODY, headers=signed(BODY), source=config("surveymonkey"))


def test_surveymonkey_documented_event_becomes_a_fetch_reference() -> None:
    result = adapter.parse(body=BODY, headers={}, source=SOURCE)
    (ref,) = result.fetch
    assert (ref.external_id, ref.survey_id) == ("123456", "123456789")
    assert ref.extra["event_type"] == "response_completed"
    assert ref.extra["collector_id"] == "123456789"
    assert result.delivery_id == "123456789"


def test_surveymonkey_non_response_events_are_ignored() -> None:
    result = adapter.parse(
        body=fixture_bytes("surveymonkey", "collector_created.json"), headers={}, source=SOURCE
    )
    assert result.fetch == [] and result.ignored


def test_surveymonkey_vendor_media_type_is_accepted() -> None:
    assert "application/vnd.surveymonkey.response.v1+json" in adapter.content_types


def test_surveymonkey_details_with_simple_text_map_scores_and_contact() -> None:
    details = fixture_json("surveymonkey", "response_details.json")
    details["pages"][0]["questions"] = [
        {"id": "319352786", "answers": [{"choice_id": "1362290178", "simple_text": "9"}]},
        {"id": "319352799", "answers": [{"text": "Support solved it in minutes"}]},
    ]
    response = response_from_details(details, source=SOURCE)
    assert response.external_id == "5007154402"
    assert response.scores == {"nps": 9}
    assert response.comment == "Support solved it in minutes"
    assert (response.customer.email, response.customer.name) == ("test@surveymonkey.com", "Jon Doe")
    assert response.submitted_at == datetime(1970, 1, 17, 19, 7, 30, tzinfo=UTC)
    assert response.updated_at == datetime(1970, 1, 17, 19, 7, 34, tzinfo=UTC)
    assert response.answers["custom_variables"] == {"custvar_1": "one", "custvar_2": "two"}


def test_surveymonkey_details_choice_ids_map_through_the_surveys_choices() -> None:
    details = fixture_json("surveymonkey", "response_details.json")
    response = response_from_details(details, source=SOURCE, choices={"1362290178": "10"})
    assert response.scores == {"nps": 10}


def test_surveymonkey_details_bare_choice_id_on_a_score_question_is_a_clear_error() -> None:
    with pytest.raises(PayloadError) as exc:
        response_from_details(fixture_json("surveymonkey", "response_details.json"), source=SOURCE)
    assert "simple=true" in exc.value.errors["319352786"][0]


def test_surveymonkey_details_without_map_invent_no_score() -> None:
    response = response_from_details(
        fixture_json("surveymonkey", "response_details.json"), source=config("surveymonkey")
    )
    assert response.scores == {}
    assert response.answers["319352786"] == {"choice_id": "1362290178"}


@PROPERTY
@given(st.binary(max_size=300))
def test_surveymonkey_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(json_values, st.sampled_from(["response_completed", "survey_created", ""]))
def test_surveymonkey_arbitrary_events_raise_only_payload_errors(resources: object, event: str) -> None:
    body = json.dumps({"event_type": event, "object_id": "1", "resources": resources}).encode()
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(header_dicts, st.binary(max_size=100))
def test_surveymonkey_arbitrary_headers_raise_only_signature_errors(headers: dict, body: bytes) -> None:
    verify_or_signature_error(adapter, body, headers, SOURCE)


@PROPERTY
@given(json_values, json_values)
def test_surveymonkey_details_helper_raises_only_payload_errors(pages: object, meta: object) -> None:
    with contextlib.suppress(PayloadError):
        response_from_details({"id": "1", "pages": pages, "metadata": meta}, source=SOURCE)


@PROPERTY
@given(st.lists(json_values, max_size=3))
def test_surveymonkey_arbitrary_answers_to_a_mapped_question_raise_only_payload_errors(answers: list) -> None:
    details = {"id": "1", "pages": [{"questions": [{"id": "319352786", "answers": answers}]}]}
    with contextlib.suppress(PayloadError):
        response_from_details(details, source=SOURCE)
