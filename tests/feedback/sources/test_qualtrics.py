from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, SignatureError, adapter_for
from feedback.sources.qualtrics import response_from_api

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

adapter = adapter_for("qualtrics")
# The shared key and HMAC of the signed fixture come from a published test vector
# (kyma-incubator/connector-tools, qualtrics-event-gw/pkg/hmac/hmac_test.go).
SOURCE = config(
    "qualtrics", secret="kyma4ever", field_map={"nps": "QID1", "comment": "QID2_TEXT", "ces": "QID3"}
)
SIGNED = fixture_bytes("qualtrics", "completed_response_signed.form")
FLAT = fixture_bytes("qualtrics", "completed_response_flat.form")


def test_qualtrics_accepts_the_published_hmac_sha512_of_msg() -> None:
    adapter.verify(body=SIGNED, headers={}, source=SOURCE)


def test_qualtrics_hmac_is_sha512_of_the_msg_field_keyed_by_the_shared_key() -> None:
    msg = '{"Status":"Complete","ResponseID":"R_x","SurveyID":"SV_y"}'
    digest = hmac.new(b"another key", msg.encode(), hashlib.sha512).hexdigest()
    body = urlencode({"Topic": "b.surveyengine.completedResponse.SV_y", "MSG": msg, "HMAC": digest}).encode()
    adapter.verify(body=body, headers={}, source=config("qualtrics", secret="another key"))


def test_qualtrics_refuses_a_tampered_message() -> None:
    body = SIGNED.replace(b"R_0B7IcnXszjEUHLP", b"R_0B7IcnXszjEUHLQ")
    with pytest.raises(SignatureError):
        adapter.verify(body=body, headers={}, source=SOURCE)


def test_qualtrics_refuses_a_wrong_shared_key() -> None:
    with pytest.raises(SignatureError):
        adapter.verify(body=SIGNED, headers={}, source=config("qualtrics", secret="kyma4everx"))


def test_qualtrics_refuses_unsigned_events() -> None:
    with pytest.raises(SignatureError, match="sharedKey"):
        adapter.verify(body=FLAT, headers={}, source=SOURCE)


def test_qualtrics_source_without_shared_key_is_refused() -> None:
    with pytest.raises(SignatureError, match="no signing secret"):
        adapter.verify(body=SIGNED, headers={}, source=config("qualtrics"))


def test_qualtrics_signed_event_becomes_a_fetch_reference() -> None:
    result = adapter.parse(body=SIGNED, headers={}, source=SOURCE)
    assert result.responses == []
    (ref,) = result.fetch
    assert (ref.external_id, ref.survey_id) == ("R_0B7IcnXszjEUHLP", "SV_1AmkKSDmoZ4XlQx")
    assert ref.extra["status"] == "Complete"
    assert ref.extra["topic"] == "sapdevelopment.surveyengine.completedResponse.SV_1AmkKSDmoZ4XlQx"


def test_qualtrics_flat_form_fields_parse_too() -> None:
    (ref,) = adapter.parse(body=FLAT, headers={}, source=SOURCE).fetch
    assert (ref.external_id, ref.survey_id) == ("R_suq806jn8LGzhx7", "SV_cVn9uBwheR9hz01")
    assert ref.extra["distribution_id"] == "EMD_96woxYS85Cg5Lqx"


def test_qualtrics_non_response_topics_are_ignored() -> None:
    body = urlencode({"Topic": "controlpanel.activateSurvey", "MSG": "{}"}).encode()
    result = adapter.parse(body=body, headers={}, source=SOURCE)
    assert result.fetch == [] and result.ignored


def test_qualtrics_missing_response_id_is_a_field_error() -> None:
    body = urlencode(
        {"Topic": "x.surveyengine.completedResponse.SV_1", "MSG": '{"Status":"Complete"}'}
    ).encode()
    with pytest.raises(PayloadError) as exc:
        adapter.parse(body=body, headers={}, source=SOURCE)
    assert "ResponseID" in exc.value.errors


def test_qualtrics_api_response_maps_to_a_response() -> None:
    response = response_from_api(fixture_json("qualtrics", "api_response.json"), source=SOURCE)
    assert response.external_id == "R_suq806jn8LGzhx7"
    assert response.scores == {"nps": 9, "ces": 2}
    assert response.comment == "Setup was quick, billing page confusing."
    assert response.submitted_at == datetime(2020, 10, 22, 12, 31, 40, 377000, tzinfo=UTC)
    assert (response.customer.email, response.customer.name, response.customer.external_id) == (
        "pat@example.com",
        "Pat Lee",
        "CUST-0042",
    )
    assert response.answers["QID3"] == 2
    assert response.answers["labels"]["QID3"] == "Somewhat easy"
    assert "ipAddress" not in response.answers
    assert response.complete is True


def test_qualtrics_api_response_without_map_invents_no_score() -> None:
    response = response_from_api(fixture_json("qualtrics", "api_response.json"), source=config("qualtrics"))
    assert response.scores == {}


def test_qualtrics_api_response_without_id_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        response_from_api({"result": {"values": {}}}, source=SOURCE)


@PROPERTY
@given(st.binary(max_size=300))
def test_qualtrics_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    parse_or_payload_error(adapter, body, SOURCE)


@PROPERTY
@given(
    st.dictionaries(st.sampled_from(["Topic", "MSG", "HMAC", "ResponseID", "SurveyID"]), st.text(max_size=40))
)
def test_qualtrics_arbitrary_forms_raise_only_the_expected_errors(fields: dict) -> None:
    body = urlencode(fields).encode()
    parse_or_payload_error(adapter, body, SOURCE)
    verify_or_signature_error(adapter, body, {}, SOURCE)


@PROPERTY
@given(header_dicts, st.binary(max_size=200))
def test_qualtrics_arbitrary_bodies_raise_only_signature_errors(headers: dict, body: bytes) -> None:
    verify_or_signature_error(adapter, body, headers, SOURCE)


@PROPERTY
@given(json_values)
def test_qualtrics_api_helper_raises_only_payload_errors(data: object) -> None:
    with contextlib.suppress(PayloadError):
        response_from_api(data if isinstance(data, dict) else {"result": data}, source=SOURCE)


@PROPERTY
@given(json_values)
def test_qualtrics_msg_json_raises_only_payload_errors(msg: object) -> None:
    body = urlencode({"Topic": "b.surveyengine.completedResponse.SV_1", "MSG": json.dumps(msg)}).encode()
    parse_or_payload_error(adapter, body, SOURCE)
