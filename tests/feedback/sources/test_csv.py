from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedback.sources import PayloadError, RowResult, adapter_for
from feedback.sources.csv import IdentityCounter

from .conftest import PROPERTY, config

adapter = adapter_for("csv")


def read(data: bytes | str, **kwargs) -> list[RowResult]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return list(adapter.rows(fileobj=io.BytesIO(data), source=config("csv", **kwargs)))


MAPPED = {"external_id": "Response ID", "nps": "NPS", "comment": "Why?", "email": "E-mail"}


def test_csv_maps_columns_by_the_field_map() -> None:
    (row,) = read("Response ID,NPS,Why?,E-mail\nr1,9,Fast delivery,ann@example.com\n", field_map=MAPPED)
    assert row.row == 2
    assert row.response.external_id == "r1"
    assert row.response.scores == {"nps": 9}
    assert row.response.comment == "Fast delivery"
    assert row.response.customer.email == "ann@example.com"
    assert row.response.answers == {
        "Response ID": "r1",
        "NPS": "9",
        "Why?": "Fast delivery",
        "E-mail": "ann@example.com",
    }


def test_csv_roles_default_to_columns_named_after_them() -> None:
    (row,) = read("external_id,csat,comment\nx1,4,ok\n")
    assert (row.response.external_id, row.response.scores, row.response.comment) == ("x1", {"csat": 4}, "ok")


def test_csv_headers_are_matched_after_trimming_whitespace() -> None:
    (row,) = read(
        "  Response ID ,\tNPS  ,Why?,E-mail\nr1,7,meh,\n",
        field_map={"external_id": " Response ID", "nps": "NPS "},
    )
    assert (row.response.external_id, row.response.scores) == ("r1", {"nps": 7})


def test_csv_reads_utf8_with_bom() -> None:
    (row,) = read(b"\xef\xbb\xbfexternal_id,comment\nr1,caf\xc3\xa9\n")
    assert row.response.external_id == "r1"
    assert row.response.comment == "caf\u00e9"


def test_csv_falls_back_to_cp1252() -> None:
    data = "external_id,comment\nr1,Caf\u00e9 \u2013 \u201cgreat\u201d \u20ac5\n".encode("cp1252")
    (row,) = read(data)
    assert row.response.comment == "Caf\u00e9 \u2013 \u201cgreat\u201d \u20ac5"


def test_csv_switches_to_cp1252_when_a_later_line_is_not_utf8() -> None:
    data = b"external_id,comment\nr1,plain\nr2," + "na\u00efve".encode("cp1252") + b"\n"
    rows = read(data)
    assert [r.response.comment for r in rows] == ["plain", "na\u00efve"]


def test_csv_quoted_cells_keep_embedded_newlines_and_rows_count_like_a_spreadsheet() -> None:
    rows = read('external_id,nps,comment\nr1,9,"line one\nline two"\nr2,x,bad\n')
    assert rows[0].row == 2
    assert rows[0].response.comment == "line one\nline two"
    assert rows[1].row == 3
    assert rows[1].error.startswith("Column 'nps' (nps): a whole number is required")


def test_csv_nul_bytes_are_dropped() -> None:
    (row,) = read(b"external_id,comment\nr1,a\x00b\n")
    assert row.response.comment == "ab"


def test_csv_html_in_comments_is_kept_verbatim() -> None:
    (row,) = read('external_id,comment\nr1,"<script>alert(1)</script>"\n')
    assert row.response.comment == "<script>alert(1)</script>"


def test_csv_bad_rows_are_reported_with_their_row_numbers_and_good_rows_kept() -> None:
    rows = read(
        "external_id,nps,submitted_at\n"
        "r1,9,2026-01-02 10:00\n"
        "r2,nine,2026-01-02\n"
        "r3,5,someday\n"
        "r4,10,\n"
        "r5,1,2026-01-02,extra\n"
    )
    assert [(r.row, bool(r.response)) for r in rows] == [
        (2, True),
        (3, False),
        (4, False),
        (5, True),
        (6, False),
    ]
    assert "nps" in rows[1].error
    assert "submitted_at" in rows[2].error
    assert "6 cells" not in rows[4].error and "4 cells" in rows[4].error


def test_csv_blank_lines_are_skipped_but_still_numbered() -> None:
    rows = read("external_id,comment\nr1,a\n\nr2,b\n")
    assert [r.row for r in rows] == [2, 4]


def test_csv_rows_without_an_id_are_keyed_by_content_and_ordinal() -> None:
    data = "nps,comment\n9,great\n9,great\n3,slow\n9,great\n"
    rows = read(data)
    keys = [r.response.external_id for r in rows]
    assert len(set(keys)) == 4
    assert keys[0].startswith("sha256:") and keys[0].endswith(":1")
    assert keys[1].rsplit(":", 1)[0] == keys[0].rsplit(":", 1)[0]
    assert keys[1].endswith(":2") and keys[3].endswith(":3") and keys[2].endswith(":1")


def test_csv_rereading_the_same_file_gives_the_same_keys() -> None:
    data = "nps,comment\n9,great\n9,great\n3,slow\n"
    assert [r.response.external_id for r in read(data)] == [r.response.external_id for r in read(data)]


def test_csv_empty_id_cells_fall_back_to_the_content_key() -> None:
    rows = read("external_id,comment\n,hello\nr2,hi\n")
    assert rows[0].response.external_id.startswith("sha256:")
    assert rows[1].response.external_id == "r2"


def test_csv_zone_less_dates_use_the_source_time_zone() -> None:
    (row,) = read("external_id,submitted_at\nr1,2026-07-01 09:30\n", timezone="America/New_York")
    assert row.response.submitted_at == datetime(2026, 7, 1, 9, 30, tzinfo=ZoneInfo("America/New_York"))


def test_csv_dates_with_a_zone_keep_it() -> None:
    (row,) = read("external_id,submitted_at\nr1,2026-07-01T09:30:00Z\n", timezone="America/New_York")
    assert row.response.submitted_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


def test_csv_a_mapped_column_missing_from_the_file_refuses_the_file() -> None:
    with pytest.raises(PayloadError) as exc:
        read("id,comment\n1,x\n", field_map={"nps": "NPS"})
    assert "NPS" in exc.value.errors["field_map"][0]


def test_csv_an_empty_file_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        read(b"")


def test_csv_scores_are_never_invented_from_empty_cells() -> None:
    (row,) = read("external_id,nps,csat,comment\nr1,,,just words\n")
    assert row.response.scores == {}


def test_csv_identity_counter_numbers_identical_digests_across_growth() -> None:
    counter = IdentityCounter()
    digests = [i.to_bytes(8, "big") * 4 for i in range(1, 5000)]
    assert all(counter.ordinal(d) == 1 for d in digests)
    assert all(counter.ordinal(d) == 2 for d in digests)


def test_csv_memory_stays_flat_while_streaming_many_rows() -> None:
    class Generated(io.RawIOBase):
        """A CSV produced on the fly, so the file itself takes no memory."""

        def __init__(self, rows: int) -> None:
            self.lines = (f"{n},{n % 11},comment number {n}\n".encode() for n in range(rows))
            self.pending = b"external_id,nps,comment\n"

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            while len(self.pending) < size:
                line = next(self.lines, None)
                if line is None:
                    break
                self.pending += line
            out, self.pending = self.pending[:size], self.pending[size:]
            return out

    def peak_for(rows: int) -> int:
        tracemalloc.start()
        count = sum(1 for _ in adapter.rows(fileobj=Generated(rows), source=config("csv")))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == rows
        return peak

    small, large = peak_for(10_000), peak_for(60_000)
    assert large < small * 1.5


@PROPERTY
@given(st.binary(max_size=2000))
def test_csv_arbitrary_bytes_yield_rows_or_payload_errors(data: bytes) -> None:
    try:
        for result in adapter.rows(fileobj=io.BytesIO(data), source=config("csv")):
            assert result.response is not None or result.error
    except PayloadError:
        pass


cell = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@PROPERTY
@given(
    st.lists(cell, min_size=1, max_size=6),
    st.lists(st.lists(cell, max_size=7), max_size=8),
    st.dictionaries(
        st.sampled_from(["external_id", "nps", "comment", "submitted_at", "email"]), cell, max_size=3
    ),
)
def test_csv_arbitrary_headers_rows_and_maps_yield_rows_or_payload_errors(headers, rows, field_map) -> None:
    buffer = io.StringIO()
    import csv

    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    try:
        results = list(
            adapter.rows(
                fileobj=io.BytesIO(buffer.getvalue().encode("utf-8")),
                source=config("csv", field_map=field_map),
            )
        )
    except PayloadError:
        return
    # Explicit ids may repeat in a file (the service dedups them); content keys never do.
    keys = [
        r.response.external_id for r in results if r.response and r.response.external_id.startswith("sha256:")
    ]
    assert len(keys) == len(set(keys))


def test_csv_semicolon_files_from_european_excel_are_read() -> None:
    data = "external_id;nps;comment\nr1;8;Très bien, merci\n".encode("cp1252")
    (row,) = read(data)
    assert (row.response.external_id, row.response.scores, row.response.comment) == (
        "r1",
        {"nps": 8},
        "Très bien, merci",
    )


def test_csv_tab_separated_files_are_read() -> None:
    (row,) = read("external_id\tcsat\nr1\t4\n")
    assert row.response.scores == {"csat": 4}


@PROPERTY
@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    zone_name=st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]),
    style=st.sampled_from(["iso", "space", "minutes", "date", "z", "offset", "garbage"]),
)
def test_the_iso_shortcut_reads_dates_exactly_as_timestamp_does(moment, zone_name, style) -> None:
    from feedback.sources._common import timestamp
    from feedback.sources.csv import _iso_timestamp

    text = {
        "iso": moment.isoformat(),
        "space": moment.isoformat(sep=" "),
        "minutes": moment.strftime("%Y-%m-%d %H:%M"),
        "date": moment.strftime("%Y-%m-%d"),
        "z": moment.isoformat() + "Z",
        "offset": moment.isoformat() + "+05:30",
        "garbage": moment.strftime("%Y-%m-%d") + "x",
    }[style]
    tz = ZoneInfo(zone_name)
    fast = _iso_timestamp(text, tz)
    try:
        full = timestamp(text, source=config("csv"), tz=tz)
    except PayloadError:
        full = None
    assert fast is None or (fast == full and fast.utcoffset() == full.utcoffset())
    if style != "garbage":
        assert fast is not None


def test_plain_digit_scores_take_the_shortcut_and_large_ones_are_still_refused() -> None:
    content = "id,nps\na,7\nb,0009\nc,40000\nd,\u0663\ne, 8\n"
    rows = read(content, field_map={"external_id": "id", "nps": "nps"})
    assert [r.response.scores if r.response else r.error for r in rows[:2]] == [{"nps": 7}, {"nps": 9}]
    assert "whole number" in rows[2].error  # out of the SMALLINT range, as ``score`` says
    assert rows[3].response.scores == {"nps": 3}  # not ASCII: read by ``to_int``, as before
    assert rows[4].response.scores == {"nps": 8}
