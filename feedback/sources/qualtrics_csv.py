"""Qualtrics CSV exports ("Download data" > CSV).

Current exports have three header rows: the column ids (``ResponseId``, ``Q1``, ``Q2_4_TEXT``),
the question texts, and ImportId JSON cells (``{"ImportId":"QID1"}``, with ``"timeZone"`` on date
columns). Legacy exports have two (``V1``... codes, then names such as ``ResponseID``). The
field map may name a column by any of those: id, question text or ImportId (``QID1``). Values
are the numeric codes when exported with "Use numeric values", which is what scores need;
an NPS cell exported as a label like "9 - Likely" keeps its leading number.

Defaults without a map: ``ResponseId`` is the external id, ``RecordedDate`` (else ``EndDate``)
the time, in the export's own time zone when the ImportId row names one, ``RecipientEmail``
and ``ExternalReference`` the customer. Rows are numbered as in a spreadsheet, so the first
response of a current export is row 4.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence

from ._common import NUL_MARK, clean
from .base import PayloadError
from .csv import CsvFileAdapter, HeaderInfo, Record, normalise_headers

DEFAULTS: Mapping[str, Sequence[str]] = {
    "external_id": ("ResponseId", "ResponseID", "_recordId", "Response ID"),
    "submitted_at": ("RecordedDate", "recordedDate", "EndDate", "endDate", "Recorded Date", "End Date"),
    "email": ("RecipientEmail", "EmailAddress", "Recipient Email"),
    "customer_id": ("ExternalReference", "ExternalDataReference", "External Data Reference"),
    "name": (),
}
LABELLED_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[-–:]\s*\S")


class QualtricsCsvAdapter(CsvFileAdapter):
    kind = "qualtrics_csv"
    defaults = {**CsvFileAdapter.defaults, **DEFAULTS}

    def read_header(self, stream: Iterator[Record]) -> HeaderInfo:
        rows: list[list[str]] = []
        for cells, error in stream:
            if cells is None:
                raise PayloadError(f"A header row cannot be read: {error}")
            if not rows and not any(cell.strip() for cell in cells):
                continue
            rows.append([clean(cell).replace(NUL_MARK, "") for cell in cells])
            if len(rows) == 3:
                break
        if len(rows) < 2:
            raise PayloadError("A Qualtrics export has at least two header rows (ids, then question texts).")
        import_ids = [import_id(cell) for cell in rows[2]] if len(rows) == 3 else []
        if len(rows) == 3 and any(value is not None for value in import_ids):
            headers = normalise_headers(rows[0])
            zones = {index: value[1] for index, value in enumerate(import_ids) if value and value[1]}
            aliases = [
                headers,
                [c.strip() for c in rows[1]],
                [value[0] if value else "" for value in import_ids],
            ]
            return headers, aliases, zones, 4, []
        # Legacy export: two header rows; a third row read ahead is the first response.
        headers = normalise_headers(rows[0])
        pending: list[Record] = [(rows[2], "")] if len(rows) == 3 else []
        return headers, [headers, [c.strip() for c in rows[1]]], {}, 3, pending

    def score_value(self, metric: str, value: str) -> str:
        match = LABELLED_NUMBER.match(value)
        return match.group(1) if match else value

    def complete_column(self, headers: Sequence[str]) -> int | None:
        return headers.index("Finished") if "Finished" in headers else None


def import_id(cell: str) -> tuple[str, str] | None:
    """``(ImportId, timeZone)`` from a third-row cell, or ``None`` if it is not one."""
    cell = cell.strip()
    if not cell.startswith("{"):
        return None
    try:
        value = json.loads(cell)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or "ImportId" not in value:
        return None
    return str(value.get("ImportId") or ""), str(value.get("timeZone") or "")


adapter = QualtricsCsvAdapter()
