"""Any CSV file, mapped onto our roles by the source's field map (role -> column header).

Promises to the person importing a spreadsheet export:

- Encodings: UTF-8, UTF-8 with BOM, and Windows-1252 (what Excel writes by default) are read
  as such; a file that turns out not to be UTF-8 part-way through switches to cp1252 from
  that line on instead of failing. NUL bytes are dropped (PostgreSQL cannot store them).
- Quoted cells may contain newlines; row numbers in errors are the rows a spreadsheet shows
  (the header is row 1), not physical lines.
- Headers are matched after trimming whitespace (case-insensitively if no exact match). A
  role left out of the field map is read from a column named like the role itself
  (``external_id``, ``nps``, ``comment``...). A mapped column the file lacks refuses the whole
  file (``PayloadError``) rather than silently importing responses without their scores.
- Rows without an id are keyed ``sha256:<digest of the row's content>:<n>``, ``n`` being the
  row's ordinal among identical rows of the file: two identical rows are two people's
  answers, and importing the same file again yields the same keys (so adds nothing).
- Streaming: the file is read in chunks and rows are yielded one by one. The only state that
  grows is 8 bytes per id-less row (to number identical rows), 16-24 MB per million rows.
- A bad row is a ``RowResult(row=n, error=...)``; the good rows around it still come through.
"""

from __future__ import annotations

import csv
import hashlib
import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._common import CONTROL_ID_MESSAGE, METRICS, NUL_MARK, ROLES, clean, has_control, score, timestamp, zone
from .base import CsvAdapter, CustomerIn, PayloadError, ResponseIn, RowResult, SourceConfig

CHUNK = 1 << 16
MAX_LINE = 16 << 20  # a "line" longer than this is not a CSV we can read
BOM = b"\xef\xbb\xbf"

csv.field_size_limit(MAX_LINE)


# --- reading --------------------------------------------------------------------------------


def _raw_lines(fileobj: BinaryIO) -> Iterator[bytes]:
    """Split a binary stream into lines (keeping ``\\n``) without reading it all."""
    buffer = b""
    while True:
        chunk = fileobj.read(CHUNK)
        if not chunk:
            break
        if isinstance(chunk, str):  # a text-mode file object: be forgiving
            chunk = chunk.encode("utf-8")
        buffer += chunk
        if b"\n" not in chunk:
            if len(buffer) > MAX_LINE:
                raise PayloadError("A line of the file is longer than 16 MB; is it really a CSV?")
            continue
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line + b"\n"
    if buffer:
        yield buffer


def decoded_lines(fileobj: BinaryIO, *, nul: list[bool] | None = None) -> Iterator[str]:
    """Decoded text lines: BOM removed, UTF-8 or else cp1252, NULs dropped (PostgreSQL cannot
    store them). With ``nul`` (a one-item flag), NULs become ``NUL_MARK`` instead and the flag
    is set, so the row reader can refuse an id that had one and drop the mark elsewhere."""
    lines = _raw_lines(fileobj)
    first = next(lines, None)
    if first is None:
        return
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PayloadError("UTF-16 files are not supported; save the file as 'CSV UTF-8'.")
    if first.startswith(BOM):
        first = first[len(BOM) :]
    encoding = "utf-8"  # until a line proves otherwise; then cp1252 for the rest of the file
    for raw in _chain(first, lines):
        if encoding == "utf-8":
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                encoding = "cp1252"
        if encoding == "cp1252":
            line = raw.decode("cp1252", errors="replace")
        if "\x00" in line:
            if nul is None:
                line = line.replace("\x00", "")
            else:
                line = line.replace("\x00", NUL_MARK)
                nul[0] = True
        yield line


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


Record = tuple[list[str] | None, str]
HeaderInfo = tuple[list[str], list[list[str]], dict[int, str], int, list[Record]]


def _chain_records(first: list[Record], rest: Iterator[Record]) -> Iterator[Record]:
    yield from first
    yield from rest


def records(fileobj: BinaryIO, *, nul: list[bool] | None = None) -> Iterator[Record]:
    """``(cells, "")`` per CSV record, or ``(None, error)`` for one the csv module refuses.

    The delimiter is read off the header line: Excel writes ``;`` where the decimal separator
    is a comma, and "Unicode text" exports use tabs.
    """
    lines = decoded_lines(fileobj, nul=nul)
    first = next(lines, None)
    if first is None:
        return
    delimiter = max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))
    reader = csv.reader(_chain_lines(first, lines), delimiter=delimiter, strict=False)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield None, f"Unreadable CSV row: {exc}."
            continue
        yield cells, ""


def _chain_lines(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


# --- header matching ------------------------------------------------------------------------


def normalise_headers(cells: Sequence[str]) -> list[str]:
    """Trimmed headers; duplicates get " (2)", " (3)"... so no answer overwrites another."""
    seen: dict[str, int] = {}
    headers = []
    for index, cell in enumerate(cells):
        name = clean(cell).replace("\ufeff", "").replace(NUL_MARK, "").strip() or f"column {index + 1}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        headers.append(name if count == 1 else f"{name} ({count})")
    return headers


def find_column(wanted: str, aliases: Sequence[Sequence[str]]) -> int | None:
    """The index of the column whose header (or alias row) is ``wanted``, trimmed."""
    key = wanted.strip()
    if not key:
        return None
    for names in aliases:
        for index, name in enumerate(names):
            if name == key:
                return index
    lowered = key.casefold()
    for names in aliases:
        for index, name in enumerate(names):
            if name.casefold() == lowered:
                return index
    return None


@dataclass(frozen=True)
class Plan:
    """Per-file facts the row loop needs (see ``CsvFileAdapter.plan``)."""

    headers: list[str]
    width: int
    columns: dict[str, int]
    metrics: list[tuple[str, int, str]]
    tz: tzinfo
    complete_index: int | None
    source: SourceConfig


class IdentityCounter:
    """Ordinal of a row among identical rows so far: an open-addressing table of 64-bit digests.

    Duplicates are rare, so counts above one live in a small dict; the table itself costs
    8 bytes per distinct row (kept at most half full), which is what keeps a million-row
    import's memory small.
    """

    def __init__(self) -> None:
        self.table = array("Q", [0]) * 1024
        self.used = 0
        self.repeats: dict[int, int] = {}

    def ordinal(self, digest: bytes) -> int:
        key = int.from_bytes(digest[:8], "big") or 1  # 0 marks an empty slot
        slot = self._slot(key)
        if self.table[slot] == key:
            count = self.repeats.get(key, 1) + 1
            self.repeats[key] = count
            return count
        self.table[slot] = key
        self.used += 1
        if self.used * 2 > len(self.table):
            self._grow()
        return 1

    def _slot(self, key: int) -> int:
        mask = len(self.table) - 1
        slot = key & mask
        while self.table[slot] not in (0, key):
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old = self.table
        self.table = array("Q", [0]) * (2 * len(old))
        for key in old:
            if key:
                self.table[self._slot(key)] = key


def content_key(headers: Sequence[str], cells: Sequence[str]) -> bytes:
    """SHA-256 of the row's non-empty cells by header: column order and trailing commas do not
    change a row's identity."""
    pairs = sorted((h, c) for h, c in zip(headers, cells, strict=False) if c.strip())
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8", "replace")).digest()


def _iso_timestamp(value: str, tz: tzinfo) -> datetime | None:
    """The usual ``YYYY-MM-DD...`` cell parsed as ``timestamp`` would parse it, or ``None``
    to let ``timestamp`` decide (it also reads unix times and spreadsheet formats)."""
    candidate = value.strip()
    if len(candidate) < 10 or candidate[4] != "-" or candidate[7] != "-":
        return None
    if candidate[-1] in "Zz":
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        parsed.utcoffset()
    except (ValueError, OverflowError):
        return None
    return parsed


# --- the adapter ----------------------------------------------------------------------------


class CsvFileAdapter(CsvAdapter):
    """Plain CSV: one header row, columns chosen by the field map."""

    kind = "csv"
    content_types = ("text/csv", "application/csv", "application/vnd.ms-excel", "text/plain")
    auth = "bearer"
    #: role -> column names tried, in order, when the field map does not name one
    defaults: Mapping[str, Sequence[str]] = {role: (role,) for role in ROLES}

    def rows(self, *, fileobj: Any, source: SourceConfig) -> Iterator[RowResult]:
        """Yield one ``RowResult`` per non-blank data row. ``PayloadError`` (before any row)
        for a file whose header cannot be used: empty, UTF-16, or lacking a mapped column."""
        nul = [False]  # set once the file shows a NUL: then rows are checked for its mark
        stream = records(fileobj, nul=nul)
        headers, aliases, zones, first_row, pending = self.read_header(stream)
        stream = _chain_records(pending, stream)
        columns = self.resolve_columns(headers=headers, aliases=aliases, source=source)
        plan = self.plan(headers=headers, columns=columns, zones=zones, source=source)
        counter = IdentityCounter()
        row_number = first_row - 1
        for cells, error in stream:
            row_number += 1
            if cells is None:
                yield RowResult(row=row_number, error=error)
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line: nothing to import, but it still counts as a row
            if nul[0]:
                refused = self.nul_refusal(cells=cells, plan=plan)
                if refused:
                    yield RowResult(row=row_number, error=refused)
                    continue
                cells = [c.replace(NUL_MARK, "") if NUL_MARK in c else c for c in cells]
            # Decoded cells hold no NUL and no lone surrogate (see decoded_lines), so they are
            # stored as read.
            yield self.row_result(row=row_number, cells=cells, plan=plan, counter=counter)

    def nul_refusal(self, *, cells: list[str], plan: Plan) -> str:
        """The error for a row whose id cell had a NUL ("" if none did)."""
        for role in ("external_id", "customer_id"):
            index = plan.columns.get(role)
            if index is not None and index < len(cells) and NUL_MARK in cells[index]:
                return f"Column {plan.headers[index]!r} ({role}): {CONTROL_ID_MESSAGE}"
        return ""

    def plan(
        self,
        *,
        headers: list[str],
        columns: Mapping[str, int],
        zones: Mapping[int, str],
        source: SourceConfig,
    ) -> Plan:
        """Everything about the columns that does not change from row to row, worked out once:
        a million-row import must not redo it per row."""
        ts_index = columns.get("submitted_at")
        zone_name = zones.get(ts_index) if ts_index is not None else None
        fallback = zone(source)
        tz = fallback
        if zone_name:
            try:
                tz = ZoneInfo(zone_name)
            except (ZoneInfoNotFoundError, ValueError):
                tz = fallback  # the export's own zone is unknown here: use the source's
        return Plan(
            headers=headers,
            width=len(headers),
            columns=dict(columns),
            metrics=[
                (m, columns[m], f"Column {headers[columns[m]]!r} ({m})") for m in METRICS if m in columns
            ],
            tz=tz,
            complete_index=self.complete_column(headers),
            source=source,
        )

    def row_result(self, *, row: int, cells: list[str], plan: Plan, counter: IdentityCounter) -> RowResult:
        width = len(cells)
        if width > plan.width and any(cell.strip() for cell in cells[plan.width :]):
            return RowResult(
                row=row, error=f"The row has {width} cells but the header has {plan.width} columns."
            )
        columns = plan.columns

        def cell(role: str) -> str:
            index = columns.get(role)
            return cells[index] if index is not None and index < width else ""

        errors = []
        scores: dict[str, int] = {}
        for metric, index, label in plan.metrics:
            raw = cells[index] if index < width else ""
            if not raw.strip():
                continue
            raw = self.score_value(metric, raw)
            if isinstance(raw, str) and len(raw) < 5 and raw.isascii() and raw.isdigit():
                scores[metric] = int(raw)  # the common case; what ``score`` returns for it
                continue
            try:
                value = score(raw, field=metric)
            except PayloadError:
                errors.append(f"{label}: a whole number is required, not {raw.strip()!r}.")
                continue
            if value is not None:
                scores[metric] = value
        submitted_at = None
        raw_time = cell("submitted_at")
        if raw_time.strip():
            try:
                submitted_at = _iso_timestamp(raw_time, plan.tz) or timestamp(
                    raw_time, source=plan.source, tz=plan.tz
                )
            except PayloadError:
                label = f"Column {plan.headers[columns['submitted_at']]!r} (submitted_at)"
                errors.append(f"{label}: not a date/time: {raw_time!r}.")
        external_id = cell("external_id").strip()
        if len(external_id) > 255:
            errors.append(
                f"Column {plan.headers[columns['external_id']]!r} (external_id): longer than 255 characters."
            )
        customer_id = cell("customer_id").strip()
        for role, value in (("external_id", external_id), ("customer_id", customer_id)):
            if value and has_control(value):
                errors.append(f"Column {plan.headers[columns[role]]!r} ({role}): {CONTROL_ID_MESSAGE}")
        if errors:
            return RowResult(row=row, error=" ".join(errors))
        if not external_id:
            digest = content_key(plan.headers, cells)
            external_id = f"sha256:{digest.hex()}:{counter.ordinal(digest)}"
        complete = True
        if plan.complete_index is not None and plan.complete_index < width:
            complete = cells[plan.complete_index].strip().lower() not in ("0", "false")
        return RowResult(
            row=row,
            response=ResponseIn(
                external_id=external_id,
                submitted_at=submitted_at,
                customer=CustomerIn(
                    external_id=customer_id[:255],
                    email=cell("email").strip(),
                    name=cell("name").strip(),
                ),
                scores=scores,
                comment=cell("comment").strip(),
                touchpoint=cell("touchpoint").strip(),
                department=cell("department").strip(),
                answers=dict(zip(plan.headers, cells, strict=False)),
                complete=complete,
            ),
        )

    def score_value(self, metric: str, value: str) -> str:
        """Hook for exports that wrap scores (none here)."""
        return value

    def complete_column(self, headers: Sequence[str]) -> int | None:
        """Hook: the column saying whether a response was finished (none in a plain CSV)."""
        return None

    def read_header(self, stream: Iterator[Record]) -> HeaderInfo:
        """``(headers, alias rows, per-column time zones, first data row number, records read
        ahead that are data after all)``."""
        for cells, error in stream:
            if cells is None:
                raise PayloadError(f"The header row cannot be read: {error}")
            if any(cell.strip() for cell in cells):
                headers = normalise_headers(cells)
                return headers, [headers], {}, 2, []
        raise PayloadError("The file is empty: no header row.")

    def resolve_columns(
        self, *, headers: Sequence[str], aliases: Sequence[Sequence[str]], source: SourceConfig
    ) -> dict[str, int]:
        """role -> column index. A role the field map names must exist in the file."""
        columns: dict[str, int] = {}
        missing = []
        field_map = source.field_map if isinstance(source.field_map, Mapping) else {}
        for role in ROLES:
            wanted = field_map.get(role)
            if isinstance(wanted, str) and wanted.strip():
                index = find_column(wanted, aliases)
                if index is None:
                    missing.append(f"{role} → {wanted.strip()!r}")
                else:
                    columns[role] = index
                continue
            for candidate in self.defaults.get(role, ()):
                index = find_column(candidate, aliases)
                if index is not None:
                    columns[role] = index
                    break
        if missing:
            raise PayloadError(
                {
                    "field_map": [
                        "Columns named in the field map are not in the file: "
                        + ", ".join(missing)
                        + ". Found: "
                        + ", ".join(headers[:50])
                    ]
                }
            )
        return columns


adapter = CsvFileAdapter()
