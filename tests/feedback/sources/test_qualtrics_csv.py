from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, adapter_for

from .conftest import PROPERTY, config, fixture_bytes

adapter = adapter_for("qualtrics_csv")
MAP = {"nps": "QID1", "comment": "What is the main reason for your score?", "ces": "Q3"}


def read(data: bytes, **kwargs):
    return list(adapter.rows(fileobj=io.BytesIO(data), source=config("qualtrics_csv", **kwargs)))


def test_qualtrics_csv_three_header_rows_map_by_import_id_text_or_column() -> None:
    rows = read(fixture_bytes("qualtrics_csv", "export_3_header_rows.csv"), field_map=MAP)
    assert [r.row for r in rows] == [4, 5, 6]
    first = rows[0].response
    assert first.external_id == "R_1aB2cD3eF4gH5iJ"
    assert first.scores == {"nps": 9, "ces": 2}
    assert first.comment == "Fast, friendly support"
    assert (first.customer.email, first.customer.external_id) == ("pat@example.com", "CUST-0042")


def test_qualtrics_csv_recorded_date_uses_the_exports_time_zone() -> None:
    rows = read(fixture_bytes("qualtrics_csv", "export_3_header_rows.csv"), field_map=MAP, timezone="UTC")
    assert rows[0].response.submitted_at == datetime(2024, 3, 4, 9, 14, 41, tzinfo=ZoneInfo("America/Denver"))


def test_qualtrics_csv_embedded_newlines_and_bad_rows() -> None:
    rows = read(fixture_bytes("qualtrics_csv", "export_3_header_rows.csv"), field_map=MAP)
    assert rows[1].response.comment == "The app crashed twice,\nthen I gave up."
    assert rows[2].response is None
    assert rows[2].row == 6 and "nps" in rows[2].error


def test_qualtrics_csv_legacy_two_header_rows() -> None:
    rows = read(
        fixture_bytes("qualtrics_csv", "legacy_2_header_rows.csv"), field_map={"nps": "Q1", "comment": "Why?"}
    )
    assert [r.row for r in rows] == [3, 4]
    first = rows[0].response
    assert first.external_id == "R_8dFhQ2aXbW1Yz3C"
    assert first.scores == {"nps": 10}
    assert first.comment == "Great onboarding"
    assert first.customer.email == "pat@example.com"
    assert first.submitted_at == datetime(2016, 5, 2, 8, 3, 20, tzinfo=ZoneInfo("UTC"))
    assert rows[1].response.scores == {"nps": 6}


def test_qualtrics_csv_labelled_numbers_keep_their_number() -> None:
    data = fixture_bytes("qualtrics_csv", "legacy_2_header_rows.csv").replace(
        b',"10",', b',"10 - Extremely likely",'
    )
    data = data.replace(b",10,", b",10 - Extremely likely,")
    rows = read(data, field_map={"nps": "Q1"})
    assert rows[0].response.scores == {"nps": 10}


def test_qualtrics_csv_unfinished_responses_are_marked_incomplete() -> None:
    rows = read(fixture_bytes("qualtrics_csv", "export_3_header_rows.csv"))
    assert [r.response.complete for r in rows] == [True, True, False]


def test_qualtrics_csv_rereading_gives_the_same_keys() -> None:
    data = fixture_bytes("qualtrics_csv", "export_3_header_rows.csv")
    assert [r.response.external_id for r in read(data)] == [r.response.external_id for r in read(data)]


def test_qualtrics_csv_needs_two_header_rows() -> None:
    try:
        read(b"ResponseId\n")
    except PayloadError:
        return
    raise AssertionError("a one-row file must be refused")


@PROPERTY
@given(st.binary(max_size=1500))
def test_qualtrics_csv_arbitrary_bytes_yield_rows_or_payload_errors(data: bytes) -> None:
    try:
        for result in adapter.rows(fileobj=io.BytesIO(data), source=config("qualtrics_csv", field_map=MAP)):
            assert result.response is not None or result.error
    except PayloadError:
        pass
