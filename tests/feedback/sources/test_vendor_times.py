"""Every adapter keeps the vendor's own time (issue 23): the submission time a documented
payload carries becomes ``submitted_at``; the receipt time is the intake's business
(``received_at``) and is never put in its place. One test per adapter, with the payload
copied from that vendor's public documentation (tests/fixtures/vendors/SOURCES.md)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from feedback.sources import PayloadError, adapter_for

from .conftest import config, fixture_bytes, fixture_json


def one(kind: str, body: bytes, **source_kwargs):  # type: ignore[no-untyped-def]
    result = adapter_for(kind).parse(body=body, headers={}, source=config(kind, **source_kwargs))
    (response,) = result.responses
    return response


def test_typeform_keeps_form_response_submitted_at() -> None:
    response = one("typeform", fixture_bytes("typeform", "form_response.json"))
    assert response.submitted_at == datetime(2018, 1, 18, 18, 17, 2, tzinfo=UTC)


def test_qualtrics_event_keeps_completed_date_read_as_utc_by_default() -> None:
    result = adapter_for("qualtrics").parse(
        body=fixture_bytes("qualtrics", "completed_response_signed.form"),
        headers={},
        source=config("qualtrics"),
    )
    (ref,) = result.fetch
    assert ref.submitted_at == datetime(2019, 6, 25, 7, 58, 25, tzinfo=UTC)  # "2019-06-25 07:58:25"


def test_qualtrics_event_completed_date_is_read_in_the_sources_time_zone() -> None:
    result = adapter_for("qualtrics").parse(
        body=fixture_bytes("qualtrics", "completed_response_flat.form"),
        headers={},
        source=config("qualtrics", timezone="America/Denver"),
    )
    (ref,) = result.fetch
    denver = datetime(2020, 10, 22, 12, 31, 40, tzinfo=ZoneInfo("America/Denver"))
    assert ref.submitted_at == denver
    assert ref.submitted_at.astimezone(UTC) == datetime(2020, 10, 22, 18, 31, 40, tzinfo=UTC)


def test_qualtrics_event_with_an_unreadable_completed_date_is_a_field_error() -> None:
    body = fixture_bytes("qualtrics", "completed_response_flat.form").replace(
        b"CompletedDate=2020-10-22+12%3A31%3A40", b"CompletedDate=yesterday"
    )
    with pytest.raises(PayloadError) as caught:
        adapter_for("qualtrics").parse(body=body, headers={}, source=config("qualtrics"))
    assert "CompletedDate" in caught.value.errors


def test_qualtrics_api_details_keep_recorded_date() -> None:
    from feedback.sources.qualtrics import response_from_api

    response = response_from_api(fixture_json("qualtrics", "api_response.json"), source=config("qualtrics"))
    assert response.submitted_at == datetime(2020, 10, 22, 12, 31, 40, 377000, tzinfo=UTC)


def test_qualtrics_csv_keeps_recorded_date_in_the_exports_zone() -> None:
    rows = list(
        adapter_for("qualtrics_csv").rows(
            fileobj=io.BytesIO(fixture_bytes("qualtrics_csv", "export_3_header_rows.csv")),
            source=config("qualtrics_csv"),
        )
    )
    first = rows[0].response
    assert first is not None
    assert first.submitted_at == datetime(2024, 3, 4, 9, 14, 41, tzinfo=ZoneInfo("America/Denver"))


def test_surveymonkey_event_keeps_event_datetime_of_a_completed_response() -> None:
    result = adapter_for("surveymonkey").parse(
        body=fixture_bytes("surveymonkey", "response_completed.json"),
        headers={},
        source=config("surveymonkey"),
    )
    (ref,) = result.fetch
    assert ref.submitted_at == datetime(2016, 1, 1, 21, 56, 31, 182613, tzinfo=UTC)


def test_surveymonkey_details_keep_date_created() -> None:
    from feedback.sources.surveymonkey import response_from_details

    response = response_from_details(
        fixture_json("surveymonkey", "response_details.json"), source=config("surveymonkey")
    )
    assert response.submitted_at == datetime(1970, 1, 17, 19, 7, 30, tzinfo=UTC)


def test_delighted_keeps_created_at() -> None:
    response = one("delighted", fixture_bytes("delighted", "survey_response_updated.json"))
    assert response.submitted_at == datetime.fromtimestamp(1732186844, tz=UTC)
    assert response.updated_at == datetime.fromtimestamp(1732187444, tz=UTC)


def test_formbricks_keeps_created_at() -> None:
    payload = fixture_json("formbricks", "response_finished.json")
    body = json.dumps(payload[0] if isinstance(payload, list) else payload).encode()
    response = one("formbricks", body)
    assert response.submitted_at == datetime(2025, 7, 24, 7, 47, 29, 507000, tzinfo=UTC)


def test_zendesk_keeps_the_ratings_created_at() -> None:
    response = one("zendesk", fixture_bytes("zendesk", "satisfaction_rating.json"))
    assert response.submitted_at == datetime(2011, 7, 20, 22, 55, 29, tzinfo=UTC)


def test_helpscout_keeps_created_at() -> None:
    response = one("helpscout", fixture_bytes("helpscout", "satisfaction_rating.json"))
    assert response.submitted_at == datetime(2015, 4, 13, 12, 34, 12, tzinfo=UTC)


def test_intercom_keeps_the_ratings_created_at() -> None:
    response = one("intercom", fixture_bytes("intercom", "conversation_rating_added.json"))
    assert response.submitted_at == datetime.fromtimestamp(1539897400, tz=UTC)


def test_generic_keeps_submitted_at_as_the_contract_documents() -> None:
    body = json.dumps(
        {"external_id": "g-1", "submitted_at": "2026-11-02T08:15:00+01:00", "scores": {"nps": 9}}
    )
    response = one("generic", body.encode())
    assert response.submitted_at == datetime(2026, 11, 2, 7, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-03-04T09:15:00Z", datetime(2026, 3, 4, 9, 15, tzinfo=UTC)),  # ISO 8601
        ("2026-03-04 09:15", datetime(2026, 3, 4, 9, 15, tzinfo=UTC)),
        ("3/4/2026 9:15", datetime(2026, 3, 4, 9, 15, tzinfo=UTC)),  # M/D/YYYY h:mm
        ("04.03.2026", datetime(2026, 3, 4, tzinfo=UTC)),  # DD.MM.YYYY
    ],
)
def test_csv_reads_the_mapped_date_column_in_common_formats(cell: str, expected: datetime) -> None:
    data = f"Ticket,Answered on,Score\nT-1,{cell},9\n".encode()
    source = config("csv", field_map={"external_id": "Ticket", "submitted_at": "Answered on", "nps": "Score"})
    (row,) = list(adapter_for("csv").rows(fileobj=io.BytesIO(data), source=source))
    assert row.error == ""
    assert row.response is not None and row.response.submitted_at == expected


def test_csv_zone_less_dates_are_read_in_the_sources_time_zone() -> None:
    data = b"id,submitted_at,nps\nT-1,3/4/2026 9:15,9\n"
    (row,) = list(
        adapter_for("csv").rows(fileobj=io.BytesIO(data), source=config("csv", timezone="Europe/Berlin"))
    )
    assert row.response is not None
    assert row.response.submitted_at == datetime(2026, 3, 4, 8, 15, tzinfo=UTC)
