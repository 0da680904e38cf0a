"""CSV import: a file becomes responses, streamed, in batches, idempotently, with progress.

Entry points:
- ``import_job_create``: store an uploaded file under MEDIA_ROOT with a generated name (the
  uploaded name is kept only as a label, so a path in it is harmless) and, unless a preview
  comes first, enqueue ``IMPORT_RUN`` in the same transaction (the outbox relays it).
- ``import_job_start``: enqueue a job that waited for its preview to be confirmed.
- ``import_preview``: the first rows with the source's field map applied.
- ``import_job_run``: the task. It reads the file through the source's CSV adapter (which
  streams, so memory stays flat for a 1M-row file), validates each row, and inserts in
  batches against the (source, external_id) unique constraint, counting created vs
  duplicates exactly, with one outbox row per created response. On PostgreSQL a batch is
  COPYed into a temp table and written by a constant number of set-based statements
  (``_PgBatches``) while a read-ahead thread prepares the next batch; elsewhere the ORM path
  (``_flush``). Progress is saved after every batch, in the batch's transaction. A second
  run of the same job (sweeper re-publish) is a no-op while the first holds the job's
  advisory lock; a run after a crash resumes after the rows already counted. Re-importing
  the same file adds nothing: ids (or content hashes) match.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import queue
import re
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from itertools import islice
from typing import IO, Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Case, When
from django.utils import timezone

from charter.models import Department, Touchpoint

from .intake import METRICS, customer_merge_in, scores_validate, source_config
from .models import Customer, ImportJob, OutboxEvent, Response, Source
from .outbox import outbox_enqueue, outbox_mark_processed, outbox_publish_many, outbox_relay
from .scoring import band_for
from .sources import CsvAdapter, PayloadError, ResponseIn, RowResult, adapter_for

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
MAX_STORED_ERRORS = 1000
CSV_KINDS = ("csv", "qualtrics_csv")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")

Progress = Callable[[ImportJob], None]


def _csv_adapter(source: Source) -> CsvAdapter:
    adapter = adapter_for(source.kind)
    if not isinstance(adapter, CsvAdapter) and not hasattr(adapter, "rows"):
        raise PayloadError({"source": [f"A {source.get_kind_display()} source does not take CSV files."]})
    return adapter  # type: ignore[return-value]


def safe_original_name(name: str) -> str:
    """Only the last path component, no control characters: a label, never a path."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip() or "upload.csv"
    return name[:255]


@transaction.atomic
def import_job_create(
    *, source: Source, fileobj: IO[bytes], name: str = "", by: Any = None, start: bool = True
) -> ImportJob:
    """Store the file under a generated name and (by default) queue its import."""
    if source.kind not in CSV_KINDS:
        raise PayloadError({"source": [f"A {source.get_kind_display()} source does not take CSV files."]})
    job = ImportJob(source=source, original_name=safe_original_name(name), created_by=by)
    job.file.save(f"{uuid.uuid4().hex}.csv", File(fileobj), save=False)
    job.save()
    if start:
        outbox_enqueue(kind=OutboxEvent.Kind.IMPORT_RUN, object_id=job.id)
    return job


@transaction.atomic
def import_job_start(*, job: ImportJob) -> ImportJob:
    """Queue a job that was waiting for its preview to be confirmed (once)."""
    locked = ImportJob.objects.select_for_update().get(id=job.id)
    if (
        locked.status == ImportJob.Status.PENDING
        and not OutboxEvent.objects.filter(kind=OutboxEvent.Kind.IMPORT_RUN, object_id=locked.id).exists()
    ):
        outbox_enqueue(kind=OutboxEvent.Kind.IMPORT_RUN, object_id=locked.id)
    return locked


def import_preview(*, job: ImportJob, limit: int = 10) -> list[RowResult]:
    """The first rows of the file as the import will read them (field map applied)."""
    adapter = _csv_adapter(job.source)
    with job.file.open("rb") as fileobj:
        try:
            return list(islice(adapter.rows(fileobj=fileobj, source=source_config(job.source)), limit))
        except PayloadError as exc:
            return [RowResult(row=1, error="; ".join(m for v in exc.errors.values() for m in v))]


def count_records(fileobj: IO[bytes]) -> int:
    """CSV records in a file (embedded newlines counted right), streaming, header excluded.

    Latin-1 maps every byte, and the CSV syntax characters are ASCII in UTF-8 and cp1252
    alike, so the count does not depend on the file's encoding.
    """
    text = io.TextIOWrapper(fileobj, encoding="latin-1", newline="")
    try:
        count = sum(1 for _ in csv.reader(text))
    except csv.Error:
        return 0
    finally:
        text.detach()
    return max(count - 1, 0)


class _Lookups:
    """Departments and touchpoints by slug or name, loaded once per import."""

    def __init__(self) -> None:
        self.departments: dict[str, Department] = {}
        for dept in Department.objects.all():
            self.departments.setdefault(dept.slug.lower(), dept)
            self.departments.setdefault(dept.name.lower(), dept)
        self.touchpoints: dict[str, Touchpoint] = {}
        for tp in Touchpoint.objects.all():
            self.touchpoints.setdefault(tp.slug.lower(), tp)
            self.touchpoints.setdefault(tp.name.lower(), tp)


def _row_error(row: int, message: str) -> dict[str, Any]:
    return {"row": row, "message": message}


def _validate(item: ResponseIn, *, source: Source) -> str:
    """The reason a parsed row cannot be stored, or ""."""
    problems: list[str] = []
    if not item.external_id:
        problems.append("external_id: This field is required.")
    elif len(item.external_id) > 255:
        problems.append("external_id: Ensure this value has at most 255 characters.")
    try:
        item.scores = scores_validate(scores=item.scores, source=source)
    except PayloadError as exc:
        problems.extend(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    if not item.scores and not (item.comment or "").strip():
        problems.append("A score or a comment is required.")
    email = (item.customer.email or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.append("email: Enter a valid email address.")
    if len(item.customer.external_id or "") > 255:
        problems.append("customer_id: Ensure this value has at most 255 characters.")
    return "; ".join(problems)


def _customers_for(items: list[ResponseIn], *, source: Source) -> dict[int, Customer]:
    """Upsert the batch's customers in a few queries; index in ``items`` -> customer.

    The rule of ``intake.customer_upsert``: a person id names a customer of this source, an
    e-mail may link a customer of any source (this source's preferred)."""
    ext_ids = {i.customer.external_id.strip() for i in items if i.customer.external_id.strip()}
    emails = {i.customer.email.strip().lower() for i in items if i.customer.email.strip()}
    if not ext_ids and not emails:
        return {}

    def load() -> tuple[dict[str, Customer], dict[str, Customer]]:
        by_ext = (
            {c.external_id: c for c in Customer.objects.filter(source=source, external_id__in=ext_ids)}
            if ext_ids
            else {}
        )
        by_email: dict[str, Customer] = {}
        if emails:
            home_first = Case(When(source_id=source.id, then=0), default=1)
            for c in Customer.objects.filter(email__in=emails).order_by(home_first, "id"):
                by_email.setdefault(c.email, c)
        return by_ext, by_email

    by_ext, by_email = load()
    missing: dict[str, Customer] = {}
    claimed_emails: set[str] = set()
    for item in items:
        ext = item.customer.external_id.strip()
        email = item.customer.email.strip().lower()
        if (ext and ext in by_ext) or (email and email in by_email):
            continue
        key = f"id:{ext}" if ext else f"email:{email}"
        if key in missing:
            continue
        missing[key] = Customer(
            source=source,
            external_id=ext,
            email="" if email in claimed_emails else email,
            name=(item.customer.name or "").strip()[:255],
            attributes=dict(item.customer.attributes or {}),
        )
        claimed_emails.add(email)
    if missing:
        Customer.objects.bulk_create(list(missing.values()), ignore_conflicts=True)
        by_ext, by_email = load()
    last: dict[str, ResponseIn] = {}  # the batch's last row for each known person id
    for item in items:
        ext = item.customer.external_id.strip()
        if ext and ext in by_ext:
            last[ext] = item
    for ext, item in last.items():  # the same person of this source: later data wins, audited
        by_ext[ext] = customer_merge_in(customer=by_ext[ext], customer_in=item.customer, source=source)
    result: dict[int, Customer] = {}
    for index, item in enumerate(items):
        ext = item.customer.external_id.strip()
        email = item.customer.email.strip().lower()
        customer = (by_ext.get(ext) if ext else None) or (by_email.get(email) if email else None)
        if customer is not None:
            result[index] = customer
    return result


def _build(item: ResponseIn, *, source: Source, lookups: _Lookups, customer: Customer | None) -> Response:
    program = source.program
    label = (item.department or "").strip()
    department = lookups.departments.get(label.lower()) if label else None
    tp_label = (item.touchpoint or "").strip()
    touchpoint = lookups.touchpoints.get(tp_label.lower()) if tp_label else program.touchpoint
    response = Response(
        source=source,
        program=program,
        external_id=item.external_id,
        vendor_updated_at=item.updated_at,
        customer=customer,
        department=department or program.department,
        department_hint=label[:120],
        touchpoint=touchpoint,
        touchpoint_label=tp_label[:160],
        comment=item.comment or "",
        answers=dict(item.answers or {}),
        status=Response.Status.RECEIVED,
    )
    if item.submitted_at is not None:
        response.submitted_at = item.submitted_at
    scales: dict[str, list[int]] = {}
    for metric in METRICS:
        value = item.scores.get(metric)
        if value is not None:
            scale = source.scale_for(metric)
            scales[metric] = list(scale)
            setattr(response, metric, value)
            setattr(response, f"{metric}_band", band_for(metric=metric, value=value, scale=scale))
    response.scales = scales
    return response


def _flush(*, job: ImportJob, source: Source, batch: list[RowResult], lookups: _Lookups) -> None:
    """Insert one batch in one transaction: responses, customers, outbox rows, progress."""
    errors: list[dict[str, Any]] = []
    good: list[tuple[int, ResponseIn]] = []
    for result in batch:
        if result.error or result.response is None:
            errors.append(_row_error(result.row, result.error or "The row could not be read."))
            continue
        problem = _validate(result.response, source=source)
        if problem:
            errors.append(_row_error(result.row, problem))
        else:
            good.append((result.row, result.response))

    created = duplicates = 0
    with transaction.atomic():
        Source.objects.select_for_update().filter(id=source.id).first()  # one batch at a time per source
        ids = [item.external_id for _row, item in good]
        existing = set(
            Response.objects.filter(source=source, external_id__in=ids).values_list("external_id", flat=True)
        )
        seen: set[str] = set()
        fresh: list[ResponseIn] = []
        for _row, item in good:
            if item.external_id in existing or item.external_id in seen:
                duplicates += 1
                continue
            seen.add(item.external_id)
            fresh.append(item)
        if fresh:
            customers = _customers_for(fresh, source=source)
            if connection.vendor == "postgresql":
                new_ids = _insert_pg(fresh, source=source, lookups=lookups, customers=customers)
            else:
                new_ids = _insert_orm(fresh, source=source, lookups=lookups, customers=customers, keys=seen)
            created = len(new_ids)
            duplicates += len(fresh) - created
            event_ids = _outbox_rows(new_ids)
            transaction.on_commit(lambda ids=event_ids: outbox_relay(event_ids=ids))
        _progress_save(job=job, rows=len(batch), created=created, duplicates=duplicates, errors=errors)


def _insert_orm(
    items: list[ResponseIn],
    *,
    source: Source,
    lookups: _Lookups,
    customers: dict[int, Customer],
    keys: set[str],
) -> list[int]:
    """Portable path (SQLite): bulk insert ignoring conflicts, then read back the new ids."""
    Response.objects.bulk_create(
        [
            _build(item, source=source, lookups=lookups, customer=customers.get(i))
            for i, item in enumerate(items)
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    return list(
        Response.objects.filter(source=source, external_id__in=list(keys)).values_list("id", flat=True)
    )


_RESPONSE_FIELDS = [f for f in Response._meta.concrete_fields if not f.primary_key]


def _insert_pg(
    items: list[ResponseIn], *, source: Source, lookups: _Lookups, customers: dict[int, Customer]
) -> list[int]:
    """PostgreSQL path: one ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` per batch.

    RETURNING lists exactly the rows this statement inserted, so created vs duplicates is
    exact even with a webhook or another import racing on the same ids; and no model instance
    is built per row, which is most of the cost of a million-row file.
    """
    from psycopg2.extras import Json, execute_values

    now = timezone.now()
    program = source.program
    base = {f.attname: f.get_default() for f in _RESPONSE_FIELDS}
    base.update(
        source_id=source.id,
        program_id=program.id,
        received_at=now,
        updated_at=now,
        submitted_at=now,
        status=Response.Status.RECEIVED,
    )
    rows = []
    for index, item in enumerate(items):
        values = dict(base)
        label = (item.department or "").strip()
        department = lookups.departments.get(label.lower()) if label else None
        tp_label = (item.touchpoint or "").strip()
        touchpoint = lookups.touchpoints.get(tp_label.lower()) if tp_label else program.touchpoint
        customer = customers.get(index)
        values.update(
            external_id=item.external_id,
            vendor_updated_at=item.updated_at,
            customer_id=customer.id if customer else None,
            department_id=(department or program.department).id,
            department_hint=label[:120],
            touchpoint_id=touchpoint.id if touchpoint else None,
            touchpoint_label=tp_label[:160],
            comment=item.comment or "",
            answers=Json(dict(item.answers or {})),
        )
        if item.submitted_at is not None:
            values["submitted_at"] = item.submitted_at
        scales: dict[str, list[int]] = {}
        for metric in METRICS:
            value = item.scores.get(metric)
            if value is not None:
                scale = source.scale_for(metric)
                scales[metric] = list(scale)
                values[metric] = value
                values[f"{metric}_band"] = band_for(metric=metric, value=value, scale=scale)
        values["scales"] = Json(scales)
        rows.append(tuple(values[f.attname] for f in _RESPONSE_FIELDS))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _RESPONSE_FIELDS)
    table = connection.ops.quote_name(Response._meta.db_table)
    with connection.cursor() as cursor:
        returned = execute_values(
            cursor.cursor,
            f"INSERT INTO {table} ({columns}) VALUES %s "  # noqa: S608  # nosec B608
            "ON CONFLICT (source_id, external_id) DO NOTHING RETURNING id",
            rows,
            page_size=max(len(rows), 1),
            fetch=True,
        )
    return [row[0] for row in returned]


def _outbox_rows(response_ids: list[int]) -> list[int]:
    """One RESPONSE_PROCESS outbox row per created response, in the batch's transaction."""
    if not response_ids:
        return []
    if connection.vendor == "postgresql":
        from psycopg2.extras import execute_values

        now = timezone.now()
        fields = [f for f in OutboxEvent._meta.concrete_fields if not f.primary_key]
        base = {f.attname: f.get_default() for f in fields}
        base.update(kind=OutboxEvent.Kind.RESPONSE_PROCESS.value, created_at=now)
        table = connection.ops.quote_name(OutboxEvent._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        rows = [tuple({**base, "object_id": rid}[f.attname] for f in fields) for rid in response_ids]
        with connection.cursor() as cursor:
            returned = execute_values(
                cursor.cursor,
                f"INSERT INTO {table} ({columns}) VALUES %s RETURNING id",  # noqa: S608  # nosec B608
                rows,
                page_size=len(rows),
                fetch=True,
            )
        return [row[0] for row in returned]
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=rid) for rid in response_ids]
    )
    event_ids = [e.id for e in events if e.id is not None]
    if not event_ids:  # backends that do not return ids
        event_ids = list(
            OutboxEvent.objects.filter(
                kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id__in=response_ids, processed_at=None
            ).values_list("id", flat=True)
        )
    return event_ids


# --- PostgreSQL: COPY a batch into a temp table, then set-based inserts ---------------------

_BATCH_TABLE = "cxgov_import_rows"
_BATCH_COLUMNS = (
    ("ord", "integer"),
    ("external_id", "text"),
    ("submitted_at", "timestamptz"),
    ("vendor_updated_at", "timestamptz"),
    ("cust_ext", "text"),
    ("cust_email", "text"),
    ("cust_name", "text"),
    ("cust_attrs", "jsonb"),
    ("department_id", "bigint"),
    ("department_hint", "text"),
    ("touchpoint_id", "bigint"),
    ("touchpoint_label", "text"),
    ("nps", "smallint"),
    ("csat", "smallint"),
    ("ces", "smallint"),
    ("nps_band", "text"),
    ("csat_band", "text"),
    ("ces_band", "text"),
    ("scales", "jsonb"),
    ("comment", "text"),
    ("answers", "jsonb"),
    # The source again on every row, so the "response exists already" probe is a join on
    # both columns of the (source, external_id) unique index. With the source as a constant,
    # a new source's statistics (about no rows) made the planner scan its rows by source_id
    # for every row of the batch: quadratic in the import's own size (69 s a batch at 115k).
    ("source_id", "bigint"),
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
# Lower-case ASCII dot-atom @ host labels . letters-only TLD: every such address passes
# Django's EmailValidator (user_regex, hostname_re/domain_re/tld_no_fqdn_re); others are
# checked by Django itself.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,63}}\Z")


def _copy_text(value: str) -> str:
    """A value in COPY's text format (tab-separated, backslash escapes)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


class _RowRefused(Exception):
    """A row that cannot be stored; its message is the row's error."""


def _insert_sql(model: type[Any], given: dict[str, str], *, prefix: str) -> tuple[str, str, dict[str, Any]]:
    """Column list and SELECT expressions for every concrete column of ``model``: ``given``
    (attname -> SQL) where we have a value, else the field's Python default as a named
    parameter, so a column added later still gets what the ORM would have written."""
    quote = connection.ops.quote_name
    columns, exprs, params = [], [], {}
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(quote(f.column))
        if f.attname in given:
            exprs.append(given[f.attname])
        else:
            name = f"{prefix}_{f.attname}"
            exprs.append(f"%({name})s")
            params[name] = f.get_db_prep_save(f.get_default(), connection)
    return ", ".join(columns), ", ".join(exprs), params


class _PgBatches:
    """Writes batches of parsed rows with a constant number of statements per batch.

    Per row, only Python work that cannot be done in SQL: validation (score checks memoised,
    plain e-mails matched by a pattern before Django's validator) and one line of COPY text.
    Per batch: COPY into a temp table; one INSERT of the customers the batch names that do not exist yet; one
    ``INSERT ... SELECT ... ON CONFLICT (source_id, external_id) DO NOTHING RETURNING id``
    feeding, in the same statement, the RESPONSE_PROCESS outbox rows; one progress UPDATE.
    The unique constraint stays the arbiter of duplicates, so created vs duplicates is exact
    even with another import or a webhook racing on the same ids.
    """

    def __init__(self, *, source: Source, lookups: _Lookups) -> None:
        self.source = source
        program = source.program
        self.default_department_id = program.department_id
        self.default_touchpoint_id = program.touchpoint_id
        self.departments = {k: d.id for k, d in lookups.departments.items()}
        self.touchpoints = {k: t.id for k, t in lookups.touchpoints.items()}
        self.scales = {m: source.scale_for(m) for m in METRICS}
        self.source_cell = str(source.id)
        self.scores_memo: dict[tuple[tuple[str, Any], ...], tuple[dict[str, int], list[str]]] = {}
        self.bands: dict[tuple[str, int], str] = {}
        self.scales_json: dict[tuple[str, ...], str] = {}
        columns = ", ".join(f"{name} {kind}" for name, kind in _BATCH_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_BATCH_TABLE} ({columns})")
        self._customer_sql, self._response_sql = self._statements()

    # -- per row --

    def _scores(self, scores: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
        key = tuple(scores.items())
        found = self.scores_memo.get(key)
        if found is None:
            try:
                found = (scores_validate(scores=scores, source=self.source), [])
            except PayloadError as exc:
                found = ({}, [f"{k}: {' '.join(v)}" for k, v in exc.errors.items()])
            if len(self.scores_memo) < 10_000:
                self.scores_memo[key] = found
        return found

    @staticmethod
    def _email_ok(email: str) -> bool:
        """Django's ``validate_email``; the plain addresses nearly every file holds are first
        checked by a stricter pattern (a subset of what Django accepts), 5x cheaper."""
        if len(email) <= 320 and _PLAIN_EMAIL.match(email):
            return True
        try:
            validate_email(email)
        except ValidationError:
            return False
        return True

    def line(self, ordinal: int, item: ResponseIn) -> str:
        """The row's COPY line, or raise ``_RowRefused(reason)`` (the same checks as ``_validate``)."""
        problems: list[str] = []
        external_id = item.external_id
        if not external_id:
            problems.append("external_id: This field is required.")
        elif len(external_id) > 255:
            problems.append("external_id: Ensure this value has at most 255 characters.")
        scores, score_problems = self._scores(item.scores) if item.scores else ({}, [])
        if score_problems:
            problems.extend(score_problems)
        comment = item.comment or ""
        if not item.scores and not comment.strip():  # as ``_validate``: refused scores count
            problems.append("A score or a comment is required.")
        customer = item.customer
        email = (customer.email or "").strip().lower()
        if email and not self._email_ok(email):
            problems.append("email: Enter a valid email address.")
        cust_ext = (customer.external_id or "").strip()
        if len(customer.external_id or "") > 255:
            problems.append("customer_id: Ensure this value has at most 255 characters.")
        if problems:
            raise _RowRefused("; ".join(problems))
        item.scores = scores
        label = (item.department or "").strip()
        department_id = self.departments.get(label.lower()) if label else None
        tp_label = (item.touchpoint or "").strip()
        touchpoint_id = self.touchpoints.get(tp_label.lower()) if tp_label else self.default_touchpoint_id
        score_cells = []
        band_cells = []
        for metric in METRICS:
            value = scores.get(metric)
            if value is None:
                score_cells.append(_NULL)
                band_cells.append("")
                continue
            band = self.bands.get((metric, value))
            if band is None:
                band = self.bands[(metric, value)] = str(
                    band_for(metric=metric, value=value, scale=self.scales[metric])
                )
            score_cells.append(str(value))
            band_cells.append(band)
        present = tuple(m for m in METRICS if m in scores)
        scales = self.scales_json.get(present)
        if scales is None:
            scales = self.scales_json[present] = json.dumps({m: list(self.scales[m]) for m in present})
        attrs = customer.attributes
        return "\t".join(
            (
                str(ordinal),
                _copy_text(external_id),
                item.submitted_at.isoformat() if item.submitted_at is not None else _NULL,
                item.updated_at.isoformat() if item.updated_at is not None else _NULL,
                _copy_text(cust_ext),
                _copy_text(email),
                _copy_text((customer.name or "").strip()[:255]),
                _copy_text(json.dumps(attrs)) if attrs else "{}",
                str(department_id or self.default_department_id or _NULL),
                _copy_text(label[:120]),
                str(touchpoint_id) if touchpoint_id else _NULL,
                _copy_text(tp_label[:160]),
                *score_cells,
                *band_cells,
                scales,
                _copy_text(comment),
                _copy_text(json.dumps(item.answers or {})),
                self.source_cell,
            )
        )

    # -- per batch --

    def _statements(self) -> tuple[str, str]:
        quote = connection.ops.quote_name
        customer_key = "CASE WHEN b.cust_ext <> '' THEN 'id:' || b.cust_ext ELSE 'email:' || b.cust_email END"
        c_columns, c_exprs, c_params = _insert_sql(
            Customer,
            {
                "source_id": "source_id",
                "external_id": "cust_ext",
                "email": "CASE WHEN cust_email <> '' AND row_number() OVER "
                "(PARTITION BY cust_email ORDER BY ord) > 1 THEN '' ELSE cust_email END",
                "name": "cust_name",
                "attributes": "cust_attrs",
                "created_at": "%(now)s",
                "updated_at": "%(now)s",
                "erased_at": "NULL",
            },
            prefix="c",
        )
        customers = (
            f"INSERT INTO {quote(Customer._meta.db_table)} ({c_columns}) "  # noqa: S608  # nosec B608
            f"SELECT {c_exprs} FROM ("
            f"SELECT DISTINCT ON ({customer_key}) b.* FROM {_BATCH_TABLE} b "
            "WHERE (b.cust_ext <> '' OR b.cust_email <> '') "
            f"AND NOT EXISTS (SELECT 1 FROM {quote(Customer._meta.db_table)} c WHERE b.cust_ext <> '' "
            "AND c.external_id <> '' AND c.source_id = b.source_id AND c.external_id = b.cust_ext) "
            f"AND NOT EXISTS (SELECT 1 FROM {quote(Customer._meta.db_table)} c WHERE b.cust_email <> '' "
            "AND c.email <> '' AND c.email = b.cust_email) "
            f"AND NOT EXISTS (SELECT 1 FROM {quote(Response._meta.db_table)} r "
            "WHERE r.source_id = b.source_id AND r.external_id = b.external_id) "
            f"ORDER BY {customer_key}, b.ord) first_mention "
            "ORDER BY ord ON CONFLICT DO NOTHING"
        )
        r_given = {
            "source_id": "%(source)s",
            "program_id": "%(program)s",
            "external_id": "b.external_id",
            "submitted_at": "COALESCE(b.submitted_at, %(now)s)",
            "vendor_updated_at": "b.vendor_updated_at",
            "received_at": "%(now)s",
            "updated_at": "%(now)s",
            "customer_id": "COALESCE(ce.id, cm.id)",
            "department_id": "b.department_id",
            "department_hint": "b.department_hint",
            "touchpoint_id": "b.touchpoint_id",
            "touchpoint_label": "b.touchpoint_label",
            "nps": "b.nps",
            "csat": "b.csat",
            "ces": "b.ces",
            "nps_band": "b.nps_band",
            "csat_band": "b.csat_band",
            "ces_band": "b.ces_band",
            "scales": "b.scales",
            "comment": "b.comment",
            "answers": "b.answers",
            "status": f"'{Response.Status.RECEIVED.value}'",
        }
        r_columns, r_exprs, r_params = _insert_sql(Response, r_given, prefix="r")
        o_columns, o_exprs, o_params = _insert_sql(
            OutboxEvent,
            {
                "kind": f"'{OutboxEvent.Kind.RESPONSE_PROCESS.value}'",
                "object_id": "id",
                "created_at": "%(now)s",
            },
            prefix="o",
        )
        self._defaults = {**c_params, **r_params, **o_params}
        table = quote(Customer._meta.db_table)
        responses = (
            f"WITH inserted AS (INSERT INTO {quote(Response._meta.db_table)} ({r_columns}) "  # noqa: S608  # nosec B608
            f"SELECT {r_exprs} FROM {_BATCH_TABLE} b "
            f"LEFT JOIN {table} ce ON b.cust_ext <> '' AND ce.external_id <> '' "
            "AND ce.source_id = b.source_id AND ce.external_id = b.cust_ext "
            f"LEFT JOIN LATERAL (SELECT c.id FROM {table} c WHERE b.cust_email <> '' AND c.email <> '' "
            "AND c.email = b.cust_email ORDER BY COALESCE(c.source_id = b.source_id, false) DESC, c.id "
            "LIMIT 1) cm ON true "
            "ORDER BY b.ord ON CONFLICT (source_id, external_id) DO NOTHING RETURNING id) "
            f"INSERT INTO {quote(OutboxEvent._meta.db_table)} ({o_columns}) "
            f"SELECT {o_exprs} FROM inserted RETURNING id"
        )
        return customers, responses

    def write(self, lines: list[str]) -> list[int]:
        """Insert one batch (inside the caller's transaction); the new outbox rows' ids."""
        params = {
            "now": timezone.now(),
            "source": self.source.id,
            "program": self.source.program_id,
            **self._defaults,
        }
        buffer = io.StringIO("\n".join(lines) + "\n")
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {_BATCH_TABLE}")
            cursor.copy_expert(f"COPY {_BATCH_TABLE} FROM STDIN", buffer)
            cursor.execute(_CUSTOMER_UPDATE_SQL, params)
            cursor.execute(self._customer_sql, params)
            cursor.execute(self._response_sql, params)
            return [row[0] for row in cursor.fetchall()]


# Later data wins for the same person id of this source (as ``intake.customer_merge_in``):
# the batch's last new row naming a known person id sets that customer's e-mail and name, and
# each change is audited. Rows of responses already stored (a re-imported file) change
# nothing; an e-mail another customer holds, or that two customers of the batch would take,
# is not taken (linking two customers is a merge, which nothing does silently). One statement
# per batch, whatever its size.
_CUSTOMER_UPDATE_SQL = f"""
WITH latest AS (
    SELECT DISTINCT ON (c.id) c.id, c.email AS old_email, c.name AS old_name, b.cust_email, b.cust_name
    FROM {_BATCH_TABLE} b
    JOIN feedback_customer c ON b.cust_ext <> '' AND c.external_id <> ''
        AND c.source_id = b.source_id AND c.external_id = b.cust_ext
    WHERE NOT EXISTS (
        SELECT 1 FROM feedback_response r WHERE r.source_id = b.source_id AND r.external_id = b.external_id
    )
    ORDER BY c.id, b.ord DESC
), changed AS (
    SELECT l.id, l.old_email, l.old_name,
        CASE WHEN l.cust_email <> '' AND l.cust_email <> l.old_email
            AND NOT EXISTS (SELECT 1 FROM feedback_customer o WHERE o.email = l.cust_email AND o.id <> l.id)
            AND NOT EXISTS (SELECT 1 FROM latest o WHERE o.cust_email = l.cust_email AND o.id <> l.id)
        THEN l.cust_email ELSE l.old_email END AS new_email,
        CASE WHEN l.cust_name <> '' THEN l.cust_name ELSE l.old_name END AS new_name
    FROM latest l
), updated AS (
    UPDATE feedback_customer c SET email = ch.new_email, name = ch.new_name, updated_at = %(now)s
    FROM changed ch
    WHERE c.id = ch.id AND (ch.new_email <> ch.old_email OR ch.new_name <> ch.old_name)
    RETURNING c.id, ch.old_email, ch.new_email, ch.old_name, ch.new_name
)
INSERT INTO feedback_customerchange (customer_id, source_id, by_id, changes, at)
SELECT id, %(source)s, NULL, jsonb_strip_nulls(jsonb_build_object(
    'email', CASE WHEN new_email <> old_email THEN jsonb_build_object('from', old_email, 'to', new_email) END,
    'name', CASE WHEN new_name <> old_name THEN jsonb_build_object('from', old_name, 'to', new_name) END
)), %(now)s
FROM updated
"""  # noqa: S608  # nosec B608  (table names only; every value is a parameter)


def _batch_writer(*, source: Source, lookups: _Lookups) -> _PgBatches | None:
    """The set-based writer on PostgreSQL; ``None`` elsewhere (the ORM path in ``_flush``)."""
    if connection.vendor != "postgresql":
        return None
    return _PgBatches(source=source, lookups=lookups)


class _Prepared(NamedTuple):
    """A batch after the Python work: COPY lines of its new rows, its row errors."""

    rows: int
    lines: list[str]
    errors: list[dict[str, Any]]
    duplicates: int  # ids repeated within the batch


def _prepare(batch: list[RowResult], *, writer: _PgBatches) -> _Prepared:
    """Validate and encode one batch (pure Python, no database: runs in the read-ahead thread)."""
    errors: list[dict[str, Any]] = []
    lines: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    for result in batch:
        item = result.response
        if result.error or item is None:
            errors.append(_row_error(result.row, result.error or "The row could not be read."))
            continue
        try:
            line = writer.line(result.row, item)
        except _RowRefused as exc:
            errors.append(_row_error(result.row, str(exc)))
            continue
        if item.external_id in seen:
            duplicates += 1  # the same id twice in one batch: the first one counts
            continue
        seen.add(item.external_id)
        lines.append(line)
    return _Prepared(rows=len(batch), lines=lines, errors=errors, duplicates=duplicates)


def _flush_pg(*, job: ImportJob, source: Source, prepared: _Prepared, writer: _PgBatches) -> None:
    """Insert one prepared batch in one transaction, in a constant number of statements."""
    with transaction.atomic():
        Source.objects.select_for_update().filter(id=source.id).first()  # one batch at a time per source
        event_ids = writer.write(prepared.lines) if prepared.lines else []
        if event_ids:
            transaction.on_commit(lambda ids=event_ids: _events_publish(event_ids=ids))
        _progress_save(
            job=job,
            rows=prepared.rows,
            created=len(event_ids),
            duplicates=prepared.duplicates + len(prepared.lines) - len(event_ids),
            errors=prepared.errors,
        )


@contextlib.contextmanager
def _read_ahead[T](items: Iterator[T], *, depth: int = 2) -> Iterator[Iterator[T]]:
    """Run ``items`` in a thread, at most ``depth`` items ahead of the consumer.

    Reading and encoding the next batch (Python) then overlaps with PostgreSQL writing the
    current one (psycopg2 releases the GIL while it waits), instead of each waiting for the
    other. The queue is bounded, so memory stays a few batches whatever the file's size.
    An exception in the thread is raised in the consumer.
    """
    pipe: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry: tuple[Any, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                pipe.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((None, exc))

    def consume() -> Iterator[T]:
        while True:
            item, exc = pipe.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item

    thread = threading.Thread(target=produce, name="cxgov-import-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


def _batches(rows: Iterator[RowResult], *, resume_after: int) -> Iterator[list[RowResult]]:
    batch: list[RowResult] = []
    for index, result in enumerate(rows):
        if index < resume_after:
            continue  # counted by the run that crashed
        batch.append(result)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _progress_save(
    *, job: ImportJob, rows: int, created: int, duplicates: int, errors: list[dict[str, Any]]
) -> None:
    """Counts and errors of one batch, saved in the batch's transaction (resume point)."""
    job.created += created
    job.duplicates += duplicates
    job.processed_rows += rows
    job.total_rows = max(job.total_rows, job.processed_rows)
    room = MAX_STORED_ERRORS - len(job.errors)
    if errors and room > 0:
        job.errors = [*job.errors, *errors[:room]]
    job.save(update_fields=["created", "duplicates", "processed_rows", "total_rows", "errors"])


def _events_publish(*, event_ids: list[int]) -> None:
    """Hand a batch's RESPONSE_PROCESS events on after commit.

    Eager (tests, embedded default): run them inline, as every other outbox event. With a
    broker: one message per batch (``import_events_publish_task``), and a worker publishes the
    events one by one, so the importing process does not spend its time (and the GIL) on a
    million broker round trips. If even that one message fails, the sweeper publishes the
    events later: they are committed rows, nothing is lost.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        outbox_relay(event_ids=event_ids)
        return
    from .tasks import import_events_publish_task

    try:
        import_events_publish_task.apply_async(args=[event_ids], retry=False)
    except Exception as exc:  # broker down: the sweeper will publish them
        log.warning(
            "import could not hand its events on", extra={"events": len(event_ids), "error": str(exc)}
        )


def import_events_publish(*, event_ids: list[int]) -> int:
    """Publish the given outbox events that are still unprocessed (worker side); the count."""
    return outbox_publish_many(event_ids=event_ids)


@contextlib.contextmanager
def _job_lock(job_id: int) -> Iterator[bool]:
    """A session advisory lock on PostgreSQL so one job runs once at a time."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = zlib.crc32(f"cxgov-import-{job_id}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = bool(cursor.fetchone()[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def import_job_run(
    *, job_id: int, event_id: int | None = None, progress: Progress | None = None
) -> ImportJob | None:
    """Run (or resume) an import job. Safe to call twice."""
    job = (
        ImportJob.objects.select_related("source__program__department", "source__program__touchpoint")
        .filter(id=job_id)
        .first()
    )
    if job is None:
        outbox_mark_processed(event_id=event_id)
        return None
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        outbox_mark_processed(event_id=event_id)
        return job
    with _job_lock(job.id) as got:
        if not got:
            return job  # another worker is on it; the event stays until that one finishes
        job.refresh_from_db()
        if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            outbox_mark_processed(event_id=event_id)
            return job
        return _run(job=job, event_id=event_id, progress=progress)


def _run(*, job: ImportJob, event_id: int | None, progress: Progress | None) -> ImportJob:
    source = job.source
    resume_after = job.processed_rows
    try:
        adapter = _csv_adapter(source)
        with job.file.open("rb") as fileobj:
            estimate = count_records(fileobj)
        job.status = ImportJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.total_rows = max(estimate, job.processed_rows)
        job.save(update_fields=["status", "started_at", "total_rows"])
        if progress:
            progress(job)
        lookups = _Lookups()
        writer = _batch_writer(source=source, lookups=lookups)
        with job.file.open("rb") as fileobj:
            rows = adapter.rows(fileobj=fileobj, source=source_config(source))
            batches = _batches(rows, resume_after=resume_after)
            if writer is None:
                for batch in batches:
                    _flush(job=job, source=source, batch=batch, lookups=lookups)
                    if progress:
                        progress(job)
            else:
                with _read_ahead(_prepare(batch, writer=writer) for batch in batches) as prepared:
                    for item in prepared:
                        _flush_pg(job=job, source=source, prepared=item, writer=writer)
                        if progress:
                            progress(job)
        job.status = ImportJob.Status.DONE
        job.total_rows = job.processed_rows
    except PayloadError as exc:
        job.status = ImportJob.Status.FAILED
        messages = [
            f"{k}: {' '.join(v)}" if k != "non_field_errors" else " ".join(v) for k, v in exc.errors.items()
        ]
        job.errors = [*job.errors, _row_error(0, "; ".join(messages))][: MAX_STORED_ERRORS + 1]
    except Exception as exc:
        log.exception("import failed", extra={"job_id": job.id})
        job.status = ImportJob.Status.FAILED
        job.errors = [*job.errors, _row_error(0, f"The import stopped: {type(exc).__name__}: {exc}")][
            : MAX_STORED_ERRORS + 1
        ]
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["status", "total_rows", "errors", "finished_at"])
        outbox_mark_processed(event_id=event_id)
    if progress:
        progress(job)
    return job


def import_summary(job: ImportJob) -> dict[str, Any]:
    """The public shape of an import (API, command output)."""
    return {
        "id": job.id,
        "source": job.source.slug,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created": job.created,
        "duplicates": job.duplicates,
        "errors": [{"row": e.get("row"), "message": e.get("message")} for e in job.errors],
    }


__all__ = [
    "BATCH_SIZE",
    "import_job_create",
    "import_job_run",
    "import_job_start",
    "import_preview",
    "import_summary",
    "safe_original_name",
]
