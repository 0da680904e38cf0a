from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, SignatureError, adapter_for

from .conftest import PROPERTY, bearer, config, header_dicts, json_values

adapter = adapter_for("generic")
SOURCE = config("generic")


def parse(data: object, source=SOURCE):
    return adapter.parse(body=json.dumps(data).encode(), headers={}, source=source)


def test_generic_authenticates_with_the_bearer_token() -> None:
    adapter.verify(body=b"{}", headers=bearer(), source=SOURCE)


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": "Basic tok-123"}, {"authorization": "Bearer "}],
)
def test_generic_refuses_a_missing_or_wrong_token(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        adapter.verify(body=b"{}", headers=headers, source=SOURCE)


def test_generic_body_maps_every_documented_field() -> None:
    result = parse(
        {
            "external_id": "r-1",
            "submitted_at": "2026-03-01T10:15:00Z",
            "customer": {"external_id": "c-9", "email": "Ann@Example.com", "name": "Ann"},
            "scores": {"nps": 9, "csat": 4},
            "comment": "Great <b>service</b>",
            "touchpoint": "checkout",
            "department": "support",
            "answers": {"q1": "yes"},
        }
    )
    (response,) = result.responses
    assert response.external_id == "r-1"
    assert response.submitted_at == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert (response.customer.external_id, response.customer.email, response.customer.name) == (
        "c-9",
        "Ann@Example.com",
        "Ann",
    )
    assert response.scores == {"nps": 9, "csat": 4}
    assert response.comment == "Great <b>service</b>"
    assert (response.touchpoint, response.department) == ("checkout", "support")
    assert response.answers == {"q1": "yes"}


def test_generic_needs_only_an_id_and_a_comment() -> None:
    (response,) = parse({"external_id": 42, "comment": "hello"}).responses
    assert response.external_id == "42"
    assert response.scores == {}
    assert response.submitted_at is None


def test_generic_zone_less_timestamps_use_the_source_time_zone() -> None:
    source = config("generic", timezone="Europe/Paris")
    (response,) = parse(
        {"external_id": "x", "comment": "c", "submitted_at": "2026-07-01 12:00"}, source
    ).responses
    assert response.submitted_at == datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert response.submitted_at.astimezone(UTC).hour == 10


def test_generic_missing_external_id_is_a_field_error() -> None:
    with pytest.raises(PayloadError) as exc:
        parse({"comment": "hi"})
    assert exc.value.errors == {"external_id": ["This field is required."]}


def test_generic_requires_scores_or_a_comment() -> None:
    with pytest.raises(PayloadError) as exc:
        parse({"external_id": "x"})
    assert "non_field_errors" in exc.value.errors


@pytest.mark.parametrize("value", [9.5, "9", True, [9], {"v": 9}])
def test_generic_non_integer_scores_are_field_errors(value: object) -> None:
    with pytest.raises(PayloadError) as exc:
        parse({"external_id": "x", "comment": "c", "scores": {"nps": value}})
    assert exc.value.errors == {"scores.nps": ["A whole number is required."]}


def test_generic_unknown_metric_is_a_field_error() -> None:
    with pytest.raises(PayloadError) as exc:
        parse({"external_id": "x", "scores": {"nps": 9, "happiness": 3}})
    assert exc.value.errors == {"scores.happiness": ["Unknown metric; use nps, csat or ces."]}


def test_generic_reports_all_field_errors_at_once() -> None:
    with pytest.raises(PayloadError) as exc:
        parse({"submitted_at": "yesterday", "scores": {"nps": 9.5}, "customer": "ann"})
    assert set(exc.value.errors) == {"external_id", "submitted_at", "scores.nps", "customer"}


def test_generic_bad_timestamp_is_a_field_error() -> None:
    with pytest.raises(PayloadError) as exc:
        parse({"external_id": "x", "comment": "c", "submitted_at": "not a date"})
    assert exc.value.errors == {"submitted_at": ["Enter a valid date/time."]}


@pytest.mark.parametrize("body", [b"", b"not json", b"[1,2]", b"\xff\xfe", b"NaN", b'{"a": NaN}'])
def test_generic_undecodable_bodies_are_payload_errors(body: bytes) -> None:
    with pytest.raises(PayloadError):
        adapter.parse(body=body, headers={}, source=SOURCE)


def test_generic_strips_nul_bytes_postgres_cannot_store() -> None:
    (response,) = parse(
        {"external_id": "x", "comment": "a\u0000b", "answers": {"k\u0000": "v\u0000"}}
    ).responses
    assert response.comment == "ab"
    assert response.answers == {"k": "v"}


def test_generic_accepts_a_utf8_bom() -> None:
    body = b"\xef\xbb\xbf" + json.dumps({"external_id": "x", "comment": "caf\u00e9"}).encode()
    (response,) = adapter.parse(body=body, headers={}, source=SOURCE).responses
    assert response.comment == "caf\u00e9"


generic_like = st.fixed_dictionaries(
    {},
    optional={
        "external_id": json_values,
        "submitted_at": json_values,
        "customer": json_values,
        "scores": st.dictionaries(st.sampled_from(["nps", "csat", "ces", "x"]), json_values) | json_values,
        "comment": json_values,
        "answers": json_values,
    },
)


@PROPERTY
@given(st.binary())
def test_generic_arbitrary_bytes_raise_only_payload_errors(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        adapter.parse(body=body, headers={}, source=SOURCE)


@PROPERTY
@given(generic_like)
def test_generic_arbitrary_json_raises_only_payload_errors(data: dict) -> None:
    with contextlib.suppress(PayloadError):
        adapter.parse(body=json.dumps(data).encode(), headers={}, source=SOURCE)


@PROPERTY
@given(header_dicts)
def test_generic_arbitrary_headers_raise_only_signature_errors(headers: dict[str, str]) -> None:
    with contextlib.suppress(SignatureError):
        adapter.verify(body=b"", headers=headers, source=SOURCE)
