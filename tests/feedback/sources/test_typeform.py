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

from .conftest import (
    PROPERTY,
    config,
    fixture_bytes,
    header_dicts,
    json_values,
    parse_or_payload_error,
    verify_or_signature_error,
)

adapter = adapter_for("typeform")
SECRET = "typeform_secret"
BODY = fixture_bytes("typeform", "form_response.json")
MAPPED = config(
    "typeform",
    secret=SECRET,
    field_map={
        "csat": "readable_ref_rating",  # by ref (joined from definition.fields)
        "ces": "Q7M2XAwY04dW",  # by field id
        "comment": "DlXFaesGBpoF",
        "name": "readable_ref_short_text",
        "customer_id": "user_id",  # a hidden field
    },
)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"typeform-signature": "sha256=" + base64.b64encode(digest).decode()}


def test_typeform_signature_matches_an_independent_known_answer() -> None:
    # Known-answer vector (secret, exact body, header) from an independent open-source
    # Typeform verifier; Typeform's docs describe the algorithm but publish no vector.
    body = (
        b'{"event_id":"01H","event_type":"form_response","form_response":{"form_id":"abc",'
        b'"token":"tok","submitted_at":"2023-11-14T22:13:20Z","answers":[]}}'
    )
    headers = {"typeform-signature": "sha256=tpceH674tX4nhoHSDRkfV4/WGakns3OkNWpJ7GGZMko="}
    adapter.verify(body=body, headers=headers, source=config("typeform", secret="typeform_secret"))


def test_typeform_accepts_the_documented_algorithm_over_the_raw_bytes() -> None:
    adapter.verify(body=BODY, headers=sign(BODY), source=MAPPED)


def test_typeform_refuses_a_signature_for_other_bytes() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY + b" ", headers=sign(BODY), source=MAPPED)


def test_typeform_refuses_a_wrong_secret() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers=sign(BODY, "other"), source=MAPPED)


@pytest.mark.parametrize("value", ["", "sha256=", "sha1=abc", "garbage", "sha256=!!!not-base64"])
def test_typeform_refuses_missing_or_malformed_signatures(value: str) -> None:
    headers = {"typeform-signature": value} if value else {}
    with pytest.raises(SignatureError):
        adapter.verify(body=BODY, headers=headers, source=MAPPED)


def test_typeform_source_without_secret_is_refused() -> None:
    with pytest.raises(SignatureError, match="no signing secret"):
        adapter.verify(body=BODY, headers=sign(BODY), source=config("typeform"))


def test_typeform_documented_payload_parses() -> None:
    result = adapter.parse(body=BODY, headers={}, source=MAPPED)
    (response,) = result.responses
    assert result.delivery_id == "LtWXD3crgy"
    assert response.external_id == "a3a12ec67a1365927098a606107fac15"
    assert response.submitted_at == datetime(2018, 1, 18, 18, 17, 2, tzinfo=UTC)
    assert response.scores == {"csat": 3, "ces": 5}
    assert response.comment.startswith("It's cold right now!")
    assert response.customer.email == "laura@example.com"
    assert response.customer.name == "Laura"
    assert response.customer.external_id == "abc123456"


def test_typeform_answers_are_keyed_by_ref_and_readable() -> None:
    (response,) = adapter.parse(body=BODY, headers={}, source=MAPPED).responses
    assert response.answers["readable_ref_multiple_choice"] == "London"
    assert response.answers["readable_ref_picture_choice"] == ["London", "Sydney"]
    assert response.answers["readable_ref_yes_no"] is False
    assert response.answers["readable_ref_opinion_scale"] == 2
    assert response.answers["readable_ref_date"] == "2005-10-15"
    assert response.answers["hidden"] == {"user_id": "abc123456"}
    assert response.answers["variables"] == {"score": 4, "name": "typeform"}


def test_typeform_without_a_map_invents_no_score() -> None:
    (response,) = adapter.parse(body=BODY, headers={}, source=config("typeform", secret=SECRET)).responses
    assert response.scores == {}


def test_typeform_maps_a_variable_as_a_score() -> None:
    source = config("typeform", secret=SECRET, field_map={"nps": "score"})
    (response,) = adapter.parse(body=BODY, headers={}, source=source).responses
    assert response.scores == {"nps": 4}


def test_typeform_mapped_text_answer_as_score_is_a_field_error() -> None:
    source = config("typeform", secret=SECRET, field_map={"nps": "readable_ref_short_text"})
    with pytest.raises(PayloadError) as exc:
        adapter.parse(body=BODY, headers={}, source=source)
    assert "nps" in exc.value.errors


def test_typeform_choice_answer_with_numeric_label_maps_to_a_score() -> None:
    payload = json.loads(BODY)
    payload["form_response"]["answers"].append(
        {
            "type": "choice",
            "choice": {"label": "9"},
            "field": {"id": "npsQ", "type": "multiple_choice", "ref": "nps"},
        }
    )
    source = config("typeform", secret=SECRET, field_map={"nps": "nps"})
    (response,) = adapter.parse(body=json.dumps(payload).encode(), headers={}, source=source).responses
    assert response.scores == {"nps": 9}


def test_typeform_other_event_types_are_ignored() -> None:
    result = adapter.parse(body=b'{"event_type": "form_partial"}', headers={}, source=MAPPED)
    assert result.responses == [] and result.ignored


def test_typeform_missing_token_is_a_field_error() -> None:
    with pytest.raises(PayloadError) as exc:
        adapter.parse(body=b'{"event_type":"form_response","form_response":{}}', headers={}, source=MAPPED)
    assert "form_response.token" in exc.value.errors


@PROPERTY
@given(st.binary(max_size=300))
def test_typeform_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, MAPPED)


@PROPERTY
@given(json_values, st.lists(json_values, max_size=4))
def test_typeform_arbitrary_json_raises_only_payload_errors(form: object, answers: list) -> None:
    if isinstance(form, dict):
        form = {**form, "answers": answers, "token": "t"}
    body = json.dumps({"event_type": "form_response", "form_response": form}).encode()
    parse_or_payload_error(adapter, body, MAPPED)


@PROPERTY
@given(header_dicts, st.binary(max_size=100))
def test_typeform_arbitrary_headers_raise_only_signature_errors(headers: dict, body: bytes) -> None:
    verify_or_signature_error(adapter, body, headers, MAPPED)
