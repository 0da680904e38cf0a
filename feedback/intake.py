"""Intake: how a delivery from a survey tool becomes a stored response, without loss or doubles.

Entry points:
- ``delivery_receive``: one HTTP delivery to ``/api/v1/intake/<slug>/`` -> an ``IntakeResult``
  (status code + body). Every request that reaches a real source is kept as a ``RawDelivery``
  (rejected ones too); accepted responses, their customers, the delivery and an outbox row are
  written in ONE transaction before the reply, and the broker is never called in the request.
- ``response_upsert``: identity is (source, external_id); a later vendor ``updated_at`` wins,
  an older one never overwrites; concurrent identical deliveries make one row.
- ``customer_upsert``: one customer per vendor person id within its source, else per
  normalised e-mail (which may link sources); later data about the same person wins, audited.
- ``response_fetch_details``: a task fills a response that arrived as an event only
  (Qualtrics, SurveyMonkey) from the vendor's API when the source has credentials.
- ``manual_response_create``: an employee logs feedback heard on a call, through the same path.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from charter.models import Department, Touchpoint

from . import ratelimit, refusals
from . import tasks as _tasks  # noqa: F401  (registers the Celery tasks the outbox publishes, web side too)
from .models import Customer, CustomerChange, OutboxEvent, Program, RawDelivery, Response, Source
from .outbox import outbox_enqueue, outbox_mark_processed, outbox_relay_on_commit
from .scoring import ScaleError, band_for, score_validate
from .sources import (
    CustomerIn,
    FetchRef,
    ParseResult,
    PayloadError,
    ResponseIn,
    SignatureError,
    SourceConfig,
    UnsupportedMediaType,
    adapter_for,
)
from .sources._common import CONTROL_ID_MESSAGE, has_control, ident
from .vendor_hosts import UnsafeVendorUrl, vendor_opener, vendor_url_check

log = logging.getLogger(__name__)

MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
METRICS = ("nps", "csat", "ces")
FETCH_KEY = "_fetch"  # where an event-only response keeps what is needed to fetch its details
_SECRET_HEADER_PARTS = (
    "authorization",
    "cookie",
    "signature",
    "token",
    "secret",
    "apikey",
    "api-key",
    "hmac",
)
REDACTED = "[redacted]"


# --- results -------------------------------------------------------------------------------


@dataclass
class IntakeResult:
    """What the endpoint answers: a status code, a JSON body and extra headers."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class UpsertOutcome:
    response: Response
    status: str  # "created" | "updated" | "duplicate" | "accepted"


class IntakeError(Exception):
    """A refusal with its reply (400/401/413/415/429)."""

    def __init__(
        self, status_code: int, errors: Mapping[str, list[str]], headers: dict[str, str] | None = None
    ):
        self.status_code = status_code
        self.errors = {k: list(v) for k, v in errors.items()}
        self.headers = headers or {}
        super().__init__(f"{status_code}: {self.errors}")


# --- helpers -------------------------------------------------------------------------------


def source_config(source: Source) -> SourceConfig:
    """A plain copy of what an adapter may know about the source (no ORM in adapters)."""
    scales = {m: source.scale_for(m) for m in METRICS}
    return SourceConfig(
        kind=source.kind,
        slug=source.slug,
        secret=source.secret,
        token_hash=source.token_hash,
        field_map=dict(source.field_map or {}),
        scales=scales,
        timezone=source.timezone or "UTC",
    )


@functools.cache
def _columns(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def _row_to(model: type[models.Model], row: tuple[Any, ...]) -> Any:
    """A model instance from a raw row of all its concrete columns, converted like the ORM does."""
    fields, names, converted = _row_fields(model)
    conn = connections[DEFAULT_DB_ALIAS]
    values = [
        f.from_db_value(v, None, conn) if c else v for f, c, v in zip(fields, converted, row, strict=True)
    ]
    return model.from_db(DEFAULT_DB_ALIAS, names, values)


@functools.cache
def _row_fields(model: type[models.Model]) -> tuple[list[models.Field], list[str], list[bool]]:
    fields = _columns(model)
    return fields, [f.attname for f in fields], [hasattr(f, "from_db_value") for f in fields]


def source_for_intake(*, slug: str) -> Source | None:
    """The active source posting to ``/api/v1/intake/<slug>/``, with its program, department
    and touchpoint loaded (one query, ``select_related``), or ``None``. Read on every delivery,
    so a changed or deactivated source takes effect at once."""
    return (
        Source.objects.select_related("program__department", "program__touchpoint")
        .filter(slug=slug, is_active=True)
        .first()
    )


def headers_redacted(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as stored on a RawDelivery: names kept, values of anything secret dropped."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if any(part in lowered for part in _SECRET_HEADER_PARTS):
            kept[lowered] = REDACTED
        else:
            kept[lowered] = str(value)[:2000]
    return kept


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _rate_limit_check(*, source: Source) -> None:
    """Fixed one-minute window per source, counted in the cache (Redis in real mode, in
    batches: ``feedback/ratelimit.py``). Called once the delivery is authenticated: refusals
    of strangers are counted per address instead (``feedback/refusals.py``).

    If the cache is unreachable we let the request through: refusing deliveries because the
    limiter is down would lose data, which is worse than a burst.
    """
    limit = source.rate_limit_per_minute or settings.CXGOV_INTAKE_RATE_PER_MINUTE
    if not limit:
        return
    now = time.time()
    window = int(now // 60)
    key = f"cxgov:intake-rate:{source.id}:{window}"
    try:
        count = ratelimit.deliveries.count(key, limit=limit)
    except Exception as exc:  # cache down: fail open
        log.warning("intake rate limiter unavailable", extra={"error": str(exc)})
        return
    if count > limit:
        retry_after = max(1, 60 - int(now % 60))
        raise IntakeError(
            429,
            {"non_field_errors": [f"More than {limit} deliveries a minute for this source; retry later."]},
            headers={"Retry-After": str(retry_after)},
        )


def scores_validate(*, scores: Mapping[str, Any], source: Source, prefix: str = "scores") -> dict[str, int]:
    """Scores on the source's declared scales, or field errors like ``scores.nps``."""
    errors: dict[str, list[str]] = {}
    valid: dict[str, int] = {}
    for metric, value in scores.items():
        key = f"{prefix}.{metric}"
        if metric not in METRICS:
            errors[key] = ["Unknown metric; use nps, csat or ces."]
            continue
        try:
            valid[metric] = score_validate(metric=metric, value=value, scale=source.scale_for(metric))
        except ScaleError as exc:
            errors[key] = [str(exc)]
    if errors:
        raise PayloadError(errors)
    return valid


def _normal_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_response_in(*, item: ResponseIn, source: Source) -> None:
    """Everything that would make the write fail, turned into field errors before writing."""
    errors: dict[str, list[str]] = {}
    if not item.external_id:
        errors["external_id"] = ["This field is required."]
    elif len(item.external_id) > 255:
        errors["external_id"] = ["Ensure this value has at most 255 characters."]
    elif has_control(item.external_id):
        errors["external_id"] = [CONTROL_ID_MESSAGE]
    if item.customer.external_id and has_control(item.customer.external_id):
        errors["customer.external_id"] = [CONTROL_ID_MESSAGE]
    try:
        item.scores = scores_validate(scores=item.scores, source=source)
    except PayloadError as exc:
        errors.update(exc.errors)
    email = _normal_email(item.customer.email)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["customer.email"] = ["Enter a valid email address."]
    if len(item.customer.external_id or "") > 255:
        errors["customer.external_id"] = ["Ensure this value has at most 255 characters."]
    if errors:
        raise PayloadError(errors)


# --- customers -----------------------------------------------------------------------------


@functools.cache
def _insert_columns(model: type[models.Model]) -> list[tuple[models.Field, str]]:
    """The fields an INSERT writes (all concrete ones but the id) with their quoted columns."""
    quote = connection.ops.quote_name
    return [(f, quote(f.column)) for f in model._meta.concrete_fields if not f.primary_key]


def _insert_sql(
    obj: models.Model, *, fill_from: Mapping[str, str] | None = None
) -> tuple[str, str, list[Any]]:
    """``(columns, values, params)`` to INSERT ``obj`` with raw SQL, exactly as ``save()`` would
    write it: ``auto_now`` stamps set and every value adapted by its field. Only identifiers
    from model metadata are put into the SQL text; every value is a parameter.

    Fields named in ``fill_from`` (e.g. ``{"response_id": "r"}``) take the ``id`` of that
    CTE instead, for ``INSERT ... SELECT ... FROM r``."""
    columns, values, fields = _insert_text(type(obj), tuple(sorted((fill_from or {}).items())))
    conn = connections[DEFAULT_DB_ALIAS]
    return columns, values, [f.get_db_prep_save(f.pre_save(obj, add=True), connection=conn) for f in fields]


@functools.cache
def _insert_text(
    model: type[models.Model], fill: tuple[tuple[str, str], ...]
) -> tuple[str, str, list[models.Field]]:
    """The column and value lists of ``_insert_sql`` (built once) and the fields given as values."""
    filled = dict(fill)
    columns, values, fields = [], [], []
    for f, column in _insert_columns(model):
        columns.append(column)
        if f.attname in filled:
            values.append(f"{filled[f.attname]}.id")
        else:
            values.append("%s")
            fields.append(f)
    return ", ".join(columns), ", ".join(values), fields


def _customer_lookup(*, source_id: int, external_id: str, email: str) -> tuple[str, list[Any]]:
    """SQL for the one customer a delivery belongs to: by the vendor's person id within this
    source first, else by e-mail in any source (this source's customer preferred)."""
    params: list[Any] = [source_id, external_id] if external_id else []
    params += [email] if email else []
    params += [source_id, external_id] if external_id else []
    params += [source_id]
    return _customer_lookup_sql(bool(external_id), bool(email)), params


@functools.cache
def _customer_lookup_sql(by_external_id: bool, by_email: bool) -> str:
    """The lookup's text. Each condition repeats its index's predicate (``<> ''``): the
    values are never blank here, but PostgreSQL cannot know that of a parameter, and a
    parameterised plan without it may not use the partial indexes (it scans every customer)."""
    conditions = (
        ["(source_id = %s AND external_id = %s AND external_id <> '')"] if by_external_id else []
    ) + (["(email = %s AND email <> '')"] if by_email else [])
    order = (["COALESCE(source_id = %s AND external_id = %s, false) DESC"] if by_external_id else []) + [
        "COALESCE(source_id = %s, false) DESC",
        "id",
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _columns(Customer))
    where, ordering = " OR ".join(conditions), ", ".join(order)
    return f"SELECT {columns} FROM feedback_customer WHERE {where} ORDER BY {ordering} LIMIT 1"  # noqa: S608  # nosec B608


_NOT_LOOKED_UP: Any = object()


def _customer_find(*, source_id: int, external_id: str, email: str) -> Any:
    sql, params = _customer_lookup(source_id=source_id, external_id=external_id, email=email)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _customer_insert(*, customer: Customer) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING``: False when a parallel delivery created it first."""
    columns, values, params = _insert_sql(customer)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO feedback_customer ({columns}) VALUES ({values}) "  # noqa: S608  # nosec B608
            "ON CONFLICT DO NOTHING RETURNING id",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    customer.id = row[0]
    customer._state.adding = False
    return True


def customer_merge_in(
    *, customer: Customer, customer_in: CustomerIn, source: Source | None, by: Any = None
) -> Customer:
    """Later data about a known customer: the rule both intake and manual entry follow.

    The same person id from the same source is the same person, so a new e-mail or name wins
    (later data wins); a customer found by e-mail only gets blanks filled in (an e-mail links
    customers across sources, it does not make one source's data overwrite another's). An
    id-less customer found by e-mail takes this source's person id. Every change is audited
    (``CustomerChange``); an e-mail another customer already holds is not taken (that would
    be a merge, which nothing does silently), and the audit says so. Runs inside the caller's transaction."""
    external_id = (customer_in.external_id or "").strip()
    email = _normal_email(customer_in.email)
    name = (customer_in.name or "").strip()[:255]
    source_id = source.id if source is not None else None
    same_person = (
        bool(external_id) and customer.external_id == external_id and customer.source_id == source_id
    )
    changed: dict[str, dict[str, Any]] = {}
    if external_id and not customer.external_id and source_id is not None:
        changed["external_id"] = {"from": "", "to": external_id}
        if customer.source_id != source_id:
            changed["source"] = {"from": customer.source_id, "to": source_id}
    if email and email != customer.email and (same_person or not customer.email):
        changed["email"] = {"from": customer.email, "to": email}
    if name and name != customer.name and (same_person or not customer.name):
        changed["name"] = {"from": customer.name, "to": name}
    fields = []
    if customer_in.attributes:
        merged = {**(customer.attributes or {}), **customer_in.attributes}
        if merged != customer.attributes:
            customer.attributes = merged
            fields.append("attributes")
    if "email" in changed and Customer.objects.filter(email=email).exclude(pk=customer.pk).exists():
        refused = changed.pop("email")  # taking it would silently merge two customers
        changed["email_refused"] = {**refused, "reason": "another customer has this e-mail"}
    if "external_id" in changed:
        customer.external_id, customer.source_id = external_id, source_id
        fields += ["external_id", "source"]
    if "email" in changed:
        customer.email = email
        fields.append("email")
    if "name" in changed:
        customer.name = name
        fields.append("name")
    if not fields and not changed:
        return customer
    if fields:
        try:
            with transaction.atomic():
                customer.save(update_fields=[*fields, "updated_at"])
        except IntegrityError:  # a parallel delivery took the id or e-mail first: keep what is stored
            return Customer.objects.get(pk=customer.pk)
    CustomerChange.objects.create(customer=customer, source_id=source_id, by=by, changes=changed)
    return customer


def customer_upsert(
    *, customer_in: CustomerIn, source: Source, found: Any = _NOT_LOOKED_UP, by: Any = None
) -> Customer | None:
    """The customer a delivery from ``source`` is about (see ``customer_merge_in``): by the
    vendor's person id within the source, else by normalised e-mail in any source, else new.

    A new customer is one ``INSERT ... ON CONFLICT DO NOTHING``: when a parallel delivery
    created it first, we read it again (no savepoint).
    ``found`` is the row of ``_customer_lookup`` when the caller already ran it (or ``None``).
    """
    external_id = (customer_in.external_id or "").strip()
    email = _normal_email(customer_in.email)
    name = (customer_in.name or "").strip()[:255]
    if not external_id and not email:
        return None
    for _attempt in range(3):
        if found is _NOT_LOOKED_UP:
            found = _customer_find(source_id=source.id, external_id=external_id, email=email)
        if found is None:
            customer = Customer(
                source=source,
                external_id=external_id,
                email=email,
                name=name,
                attributes=dict(customer_in.attributes or {}),
            )
            if not _customer_insert(customer=customer):  # someone created it meanwhile: read it again
                found = _NOT_LOOKED_UP
                continue
            return customer
        customer = _row_to(Customer, found)
        return customer_merge_in(customer=customer, customer_in=customer_in, source=source, by=by)
    raise PayloadError({"customer": ["Could not store this customer; please retry."]})


# --- responses -----------------------------------------------------------------------------


def _department_for(*, label: str, program: Program) -> Department:
    label = (label or "").strip()
    if label:
        match = Department.objects.filter(Q(slug__iexact=label) | Q(name__iexact=label)).first()
        if match is not None:
            return match
    return program.department


def _touchpoint_for(*, label: str, program: Program) -> Touchpoint | None:
    label = (label or "").strip()
    if label:
        return Touchpoint.objects.filter(Q(slug__iexact=label) | Q(name__iexact=label)).first()
    return program.touchpoint


def _apply(*, response: Response, item: ResponseIn, source: Source, customer: Any = _NOT_LOOKED_UP) -> None:
    """Copy a validated ``ResponseIn`` onto a response row, bands included.

    ``customer`` is the customer lookup's row when the caller already ran it."""
    program = source.program
    response.program = program
    if item.submitted_at is not None:
        response.submitted_at = item.submitted_at
    response.vendor_updated_at = item.updated_at
    response.department = _department_for(label=item.department, program=program)
    response.department_hint = (item.department or "")[:120]
    response.touchpoint = _touchpoint_for(label=item.touchpoint, program=program)
    response.touchpoint_label = (item.touchpoint or "")[:160]
    scales: dict[str, list[int]] = {}
    for metric in METRICS:
        value = item.scores.get(metric)
        setattr(response, metric, value)
        if value is None:
            setattr(response, f"{metric}_band", "")
        else:
            scale = source.scale_for(metric)
            scales[metric] = list(scale)
            setattr(response, f"{metric}_band", band_for(metric=metric, value=value, scale=scale))
    response.scales = scales
    response.comment = item.comment or ""
    response.answers = dict(item.answers or {})
    response.customer = customer_upsert(customer_in=item.customer, source=source, found=customer)


# Foreign keys of a response are rows this request just read or wrote (source, its program,
# department and touchpoint, the upserted customer): ``full_clean`` would SELECT each again.
# The database still enforces them.
_KNOWN_FKS = ["source", "program", "customer", "department", "touchpoint", "entered_by"]


def _fields_check(response: Response) -> None:
    try:
        response.full_clean(exclude=_KNOWN_FKS, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise PayloadError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        ) from None


def _save_checked(response: Response) -> None:
    _fields_check(response)
    response.save()


def _is_newer(item: ResponseIn, existing: Response) -> bool:
    if existing.status == Response.Status.AWAITING_DETAILS:
        return True  # the details arrived (or a full delivery replaced the bare event)
    if item.updated_at is None:
        return False
    return existing.vendor_updated_at is None or item.updated_at > existing.vendor_updated_at


@functools.cache
def _probe_sql(customer_sql: str) -> str:
    """The probe's SQL, with the customer lookup's (one of three texts) or none."""
    response_columns = ", ".join(connection.ops.quote_name(f.column) for f in _columns(Response))
    sql = (
        f"SELECT r.*{', c.*' if customer_sql else ''} FROM (SELECT 1) AS one "  # noqa: S608  # nosec B608
        f"LEFT JOIN LATERAL (SELECT {response_columns} FROM feedback_response "
        "WHERE source_id = %s AND external_id = %s FOR UPDATE) AS r ON true"
    )
    return sql + (f" LEFT JOIN LATERAL ({customer_sql}) AS c ON true" if customer_sql else "")


def _probe(*, source: Source, item: ResponseIn) -> tuple[Response | None, Any]:
    """One round trip: the response (source, external_id), locked, if it exists, and the row
    of the customer lookup (``None`` when there is no such customer or none was given)."""
    external_id = (item.customer.external_id or "").strip()
    email = _normal_email(item.customer.email)
    wants_customer = bool(external_id or email)
    if connection.vendor != "postgresql":  # the embedded SQLite default has no LATERAL
        existing = Response.objects.filter(source=source, external_id=item.external_id).first()
        customer = None
        if wants_customer:
            customer = _customer_find(source_id=source.id, external_id=external_id, email=email)
        return existing, customer
    params: list[Any] = [source.id, item.external_id]
    customer_sql = ""
    if wants_customer:
        customer_sql, customer_params = _customer_lookup(
            source_id=source.id, external_id=external_id, email=email
        )
        params += customer_params
    sql = _probe_sql(customer_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    width = len(_columns(Response))
    existing = None if row[0] is None else _row_to(Response, row[:width])
    if existing is not None:
        existing.source = source
    customer = row[width:] if wants_customer and row[width] is not None else None
    return existing, customer


def _response_insert(*, response: Response, outbox_kind: str | None, delivery: RawDelivery | None) -> bool:
    """Insert a new response, and in the same statement its outbox event and the delivery row.

    ``ON CONFLICT (source_id, external_id) DO NOTHING``: the unique constraint is the arbiter
    under concurrency. A parallel identical delivery waits for the winner's commit and then
    inserts nothing (False), so the caller reads the winner's row. No savepoint is needed.
    """
    if connection.vendor != "postgresql":  # SQLite cannot INSERT inside a WITH
        return _response_insert_portable(response=response, outbox_kind=outbox_kind, delivery=delivery)
    columns, values, params = _insert_sql(response)
    sql = (
        f"WITH r AS (INSERT INTO feedback_response ({columns}) VALUES ({values}) "  # noqa: S608  # nosec B608
        "ON CONFLICT (source_id, external_id) DO NOTHING RETURNING id)"
    )
    selects = ["r.id"]
    event = None
    if outbox_kind:
        event = OutboxEvent(kind=outbox_kind)
        columns, values, more = _insert_sql(event, fill_from={"object_id": "r"})
        sql += f", o AS (INSERT INTO feedback_outboxevent ({columns}) SELECT {values} FROM r RETURNING id)"  # noqa: S608  # nosec B608
        params += more
        selects.append("(SELECT id FROM o)")
    if delivery is not None:
        columns, values, more = _insert_sql(delivery, fill_from={"response_id": "r"})
        sql += f", d AS (INSERT INTO feedback_rawdelivery ({columns}) SELECT {values} FROM r RETURNING id)"  # noqa: S608  # nosec B608
        params += more
        selects.append("(SELECT id FROM d)")
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} SELECT {', '.join(selects)} FROM r", params)  # noqa: S608  # nosec B608
        row = cursor.fetchone()
    if row is None:
        return False
    ids = list(row)
    response.id = ids.pop(0)
    response._state.adding, response._state.db = False, connection.alias
    if event is not None:
        event.id, event.object_id = ids.pop(0), response.id
        event._state.adding, event._state.db = False, connection.alias
        outbox_relay_on_commit(event_ids=[event.id])
    if delivery is not None:
        delivery.id, delivery.response = ids.pop(0), response
        delivery._state.adding, delivery._state.db = False, connection.alias
    return True


def _response_insert_portable(
    *, response: Response, outbox_kind: str | None, delivery: RawDelivery | None
) -> bool:
    try:
        with transaction.atomic():
            response.save(force_insert=True)
    except IntegrityError:
        return False  # a parallel delivery won the insert
    if outbox_kind:
        outbox_enqueue(kind=outbox_kind, object_id=response.id)
    if delivery is not None:
        delivery.response = response
        delivery.save(force_insert=True)
    return True


def response_upsert(
    *, source: Source, item: ResponseIn, entered_by: Any = None, delivery: RawDelivery | None = None
) -> UpsertOutcome:
    """Create or update the response identified by (source, external_id).

    Must run inside a transaction. A new response costs two statements: a probe (the known
    response, locked, if any; the customer) and one ``INSERT ... ON CONFLICT DO NOTHING`` that
    also writes its outbox event and, when the caller passes an unsaved ``delivery``, the raw
    delivery (saved only when the response is created). For a known response a later vendor
    ``updated_at`` wins, an older one never overwrites; a duplicate touches nothing. A
    processing event is enqueued for every created or updated complete response.
    """
    _check_response_in(item=item, source=source)
    outbox_kind = OutboxEvent.Kind.RESPONSE_PROCESS if item.complete else None
    for _attempt in range(3):
        existing, customer = _probe(source=source, item=item)
        if existing is None:
            response = Response(source=source, external_id=item.external_id, entered_by=entered_by)
            _apply(response=response, item=item, source=source, customer=customer)
            response.status = Response.Status.RECEIVED
            _fields_check(response)
            if not _response_insert(response=response, outbox_kind=outbox_kind, delivery=delivery):
                continue  # a parallel delivery won the insert: read its row
            return UpsertOutcome(response=response, status="created")
        if not _is_newer(item, existing):
            return UpsertOutcome(response=existing, status="duplicate")
        _apply(response=existing, item=item, source=source, customer=customer)
        existing.status = Response.Status.RECEIVED
        _save_checked(existing)
        if item.complete:
            outbox_enqueue(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=existing.id)
        return UpsertOutcome(response=existing, status="updated")
    raise PayloadError({"external_id": ["Could not store this response; please retry."]})


def response_accept_event(*, source: Source, ref: FetchRef) -> UpsertOutcome:
    """An event that only names a response: keep it as ``awaiting_details`` and ask a task to
    fetch the details. A repeated event for a known response changes nothing. The event's
    completion time (Qualtrics ``CompletedDate``) is the response's ``submitted_at`` until
    the details bring the vendor's own record of it; ``received_at`` is when it reached us."""
    if not ref.external_id or len(ref.external_id) > 255:
        raise PayloadError({"external_id": ["A response id of at most 255 characters is required."]})
    for _attempt in range(3):
        existing = Response.objects.filter(source=source, external_id=ref.external_id).first()
        if existing is not None:
            return UpsertOutcome(response=existing, status="duplicate")
        response = Response(
            source=source,
            program=source.program,
            external_id=ref.external_id,
            department=source.program.department,
            touchpoint=source.program.touchpoint,
            status=Response.Status.AWAITING_DETAILS,
            answers={FETCH_KEY: {"survey_id": ref.survey_id, "extra": dict(ref.extra or {})}},
        )
        if ref.submitted_at is not None:  # the vendor's completion time, not our receipt time
            response.submitted_at = ref.submitted_at
        try:
            with transaction.atomic():
                response.save()
        except IntegrityError:
            continue
        outbox_enqueue(kind=OutboxEvent.Kind.RESPONSE_FETCH, object_id=response.id)
        return UpsertOutcome(response=response, status="accepted")
    raise PayloadError({"external_id": ["Could not store this response; please retry."]})


# --- the delivery ------------------------------------------------------------------------


def _record_rejection(
    *,
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    content_type: str,
    status_code: int,
    error: str,
    authenticated: bool = True,
) -> None:
    """Keep refused deliveries too: operators debug integrations from them, bounded in size
    (``feedback/refusals.py``: a prefix of the body, capped headers). Never raises."""
    kept = refusals.body_kept(body=body, status_code=status_code, authenticated=authenticated)
    if len(kept) < len(body):
        error = f"{error} [first {len(kept)} of {len(body)} body bytes kept]"
    try:
        RawDelivery.objects.create(
            source=source,
            content_type=content_type[:200],
            headers=refusals.headers_bounded(headers_redacted(headers)),
            body=kept,
            verdict=RawDelivery.Verdict.REJECTED,
            status_code=status_code,
            error=error[:5000],
        )
    except Exception:
        log.exception("could not store a rejected delivery", extra={"source": source.slug})


def _error_text(errors: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())


def delivery_receive(
    *,
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    content_type: str,
    too_large: bool = False,
    client: str = "",
) -> IntakeResult:
    """Authenticate, parse, store and reply for one delivery to a source's intake URL.

    ``client`` is the sender's address (``cxgov.clientip.client_address``): refusals of strangers
    are counted per address, apart from the source's own limit (``feedback/refusals.py``)."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    state = {"authenticated": False}
    try:
        return _delivery_process(
            source=source,
            body=body,
            headers=lowered,
            content_type=content_type,
            too_large=too_large,
            state=state,
        )
    except IntakeError as exc:
        return _refuse(
            source=source,
            body=body,
            headers=lowered,
            content_type=content_type,
            client=client,
            authenticated=state["authenticated"],
            status_code=exc.status_code,
            errors=exc.errors,
            reply_headers=exc.headers,
        )
    except (OperationalError, InterfaceError):
        # The database is gone (restart, failover): a 400 would tell the vendor never to retry
        # and the delivery would be lost. Let it propagate: the outage middleware answers 503
        # with Retry-After, and the vendor delivers again once we are back.
        raise
    except Exception as exc:  # never a 500 for a delivery: refuse clearly and keep the body
        log.exception("intake failed unexpectedly", extra={"source": source.slug})
        errors = {"non_field_errors": [f"The delivery could not be processed ({type(exc).__name__})."]}
        return _refuse(
            source=source,
            body=body,
            headers=lowered,
            content_type=content_type,
            client=client,
            authenticated=state["authenticated"],
            status_code=400,
            errors=errors,
        )


def _refuse(
    *,
    source: Source,
    body: bytes,
    headers: Mapping[str, str],
    content_type: str,
    client: str,
    authenticated: bool,
    status_code: int,
    errors: dict[str, list[str]],
    reply_headers: dict[str, str] | None = None,
) -> IntakeResult:
    """The refusal's reply, and its raw delivery unless the sender has refused too often."""
    keep = refusals.refusal_keep(
        source_key=f"{source.id}-{source.token_prefix}", client=client, authenticated=authenticated
    )
    if keep is refusals.Keep.THROTTLE:
        message = "Too many refused deliveries from your address; retry later."
        return IntakeResult(
            429, {"errors": {"non_field_errors": [message]}}, headers={"Retry-After": refusals.retry_after()}
        )
    if keep is refusals.Keep.STORE:
        _record_rejection(
            source=source,
            body=body,
            headers=headers,
            content_type=content_type,
            status_code=status_code,
            error=_error_text(errors),
            authenticated=authenticated,
        )
    return IntakeResult(status_code, {"errors": errors}, headers=reply_headers or {})


def _delivery_process(
    *,
    source: Source,
    body: bytes,
    headers: dict[str, str],
    content_type: str,
    too_large: bool,
    state: dict[str, bool],
) -> IntakeResult:
    if too_large:
        raise IntakeError(413, {"non_field_errors": [f"The body is larger than {MAX_BODY_BYTES} bytes."]})
    adapter = adapter_for(source.kind)
    media = _media_type(content_type)
    if media not in adapter.content_types:
        allowed = ", ".join(adapter.content_types)
        raise IntakeError(415, {"content_type": [f"Send {allowed}, not {media or 'no content type'}."]})
    config = source_config(source)
    try:
        adapter.verify(body=body, headers=headers, source=config)
    except SignatureError as exc:
        raise IntakeError(401, {"non_field_errors": [str(exc) or "Bad or missing signature."]}) from None
    state["authenticated"] = True
    _rate_limit_check(source=source)  # after verifying: only the source's own deliveries count
    try:
        parsed = adapter.parse(body=body, headers=headers, source=config)
    except UnsupportedMediaType as exc:
        raise IntakeError(415, exc.errors) from None
    except PayloadError as exc:
        raise IntakeError(400, exc.errors) from None
    try:
        return _store(source=source, parsed=parsed, body=body, headers=headers, content_type=content_type)
    except PayloadError as exc:
        raise IntakeError(400, exc.errors) from None


_VERDICT = {
    "created": RawDelivery.Verdict.CREATED,
    "updated": RawDelivery.Verdict.UPDATED,
    "duplicate": RawDelivery.Verdict.DUPLICATE,
    "accepted": RawDelivery.Verdict.ACCEPTED,
}


@transaction.atomic
def _store(
    *, source: Source, parsed: ParseResult, body: bytes, headers: dict[str, str], content_type: str
) -> IntakeResult:
    """Responses, customers, the raw delivery and outbox rows: one transaction, then reply."""

    def delivery(verdict: str, status_code: int, response: Response | None, error: str = "") -> RawDelivery:
        raw = RawDelivery(
            source=source,
            content_type=content_type[:200],
            headers=headers_redacted(headers),
            body=body,
            verdict=verdict,
            status_code=status_code,
            error=error,
            delivery_id=(parsed.delivery_id or "")[:255],
            response=response,
        )
        return raw

    def saved(raw: RawDelivery) -> RawDelivery:
        raw.save(force_insert=True)
        return raw

    if parsed.delivery_id:
        seen = (
            RawDelivery.objects.filter(source=source, delivery_id=parsed.delivery_id, response__isnull=False)
            .exclude(verdict=RawDelivery.Verdict.REJECTED)
            .select_related("response")
            .first()
        )
        if seen is not None:
            raw = saved(delivery(RawDelivery.Verdict.DUPLICATE, 200, seen.response))
            return IntakeResult(200, _reply_body([UpsertOutcome(seen.response, "duplicate")], raw))

    outcomes: list[UpsertOutcome] = []
    errors: dict[str, list[str]] = {}
    many = len(parsed.responses) + len(parsed.fetch) > 1
    # One response (the common case): its delivery row is written by the response's own INSERT
    # when it is created. No savepoint per response: any error rolls the whole delivery back.
    created_delivery = None if many else delivery(RawDelivery.Verdict.CREATED, 201, None)
    for index, item in enumerate(parsed.responses):
        try:
            outcomes.append(response_upsert(source=source, item=item, delivery=created_delivery))
        except PayloadError as exc:
            prefix = f"responses[{index}]." if many else ""
            errors.update({prefix + k: v for k, v in exc.errors.items()})
    if errors:
        raise PayloadError(errors)
    for ref in parsed.fetch:
        outcomes.append(response_accept_event(source=source, ref=ref))

    if not outcomes:
        reason = parsed.ignored or "The delivery carried no response."
        raw = saved(delivery(RawDelivery.Verdict.IGNORED, 200, None, error=reason))
        return IntakeResult(200, {"status": "ignored", "reason": reason, "delivery": raw.id})

    statuses = {o.status for o in outcomes}
    if "created" in statuses:
        code, verdict = 201, "created"
    elif "accepted" in statuses:
        code, verdict = 202, "accepted"
    elif "updated" in statuses:
        code, verdict = 200, "updated"
    else:
        code, verdict = 200, "duplicate"
    if created_delivery is not None and created_delivery.pk is not None:
        raw = created_delivery  # written with the response
    else:
        raw = saved(delivery(_VERDICT[verdict], code, outcomes[0].response))
    return IntakeResult(code, _reply_body(outcomes, raw))


def _reply_body(outcomes: list[UpsertOutcome], raw: RawDelivery) -> dict[str, Any]:
    first = outcomes[0]
    body: dict[str, Any] = {
        "id": first.response.id,
        "status": first.status,
        "external_id": first.response.external_id,
        "response_status": first.response.status,
        "delivery": raw.id,
    }
    if len(outcomes) > 1:
        body["responses"] = [
            {"id": o.response.id, "external_id": o.response.external_id, "status": o.status} for o in outcomes
        ]
    return body


# --- manual entry ------------------------------------------------------------------------


def manual_source_for(*, program: Program) -> Source:
    """Each program has one ``manual`` source for feedback employees log by hand.

    It is a generic source whose token is never shown, so nothing can post to it from outside.
    """
    slug = f"{program.slug}-manual"[:80]
    source = Source.objects.filter(slug=slug).first()
    if source is None:
        source = Source(program=program, name="Manual entry", slug=slug, kind=Source.Kind.GENERIC)
        source.set_new_token()
        try:
            with transaction.atomic():
                source.save()
        except IntegrityError:
            source = Source.objects.get(slug=slug)
    return source


def _customer_for_entry(*, by: Any, source: Source, customer_in: CustomerIn) -> Customer | None:
    """The customer an employee's manual entry is about, by the one lookup rule scoped to what
    they may see (``customer_visible_list``): a visible customer with that id (this program's
    manual entries first), else with that e-mail, is linked and updated like any later data.
    Otherwise a new customer record of the manual source is created, even when a customer the
    user may not see has that e-mail or id: the reply is the same either way, so manual entry
    never answers "does this customer exist". (An id or e-mail another, invisible, manual entry
    of this same source holds is kept in ``attributes["entered"]`` instead of its column.)"""
    from .selectors import customer_visible_list

    external_id = (customer_in.external_id or "").strip()
    email = _normal_email(customer_in.email)
    name = (customer_in.name or "").strip()[:255]
    if not external_id and not email and not name:
        return None
    visible = customer_visible_list(user=by).order_by(
        models.Case(models.When(source_id=source.id, then=0), default=1), "id"
    )
    match = visible.filter(external_id=external_id).first() if external_id else None
    if match is None and email:
        match = visible.filter(email=email).first()
    if match is not None:
        return customer_merge_in(customer=match, customer_in=customer_in, source=source, by=by)
    customer = Customer(source=source, name=name, attributes=dict(customer_in.attributes or {}))
    taken = Customer.objects.filter(source=source)
    entered = {}
    if external_id and taken.filter(external_id=external_id).exists():
        entered["external_id"] = external_id
    else:
        customer.external_id = external_id
    if email and taken.filter(email=email).exists():
        entered["email"] = email
    else:
        customer.email = email
    if entered:
        customer.attributes["entered"] = entered
    customer.full_clean(exclude=["source"], validate_unique=False, validate_constraints=False)
    customer.save()
    return customer


@transaction.atomic
def manual_response_create(
    *,
    program: Program,
    by: Any,
    comment: str,
    scores: Mapping[str, int | None],
    customer_email: str = "",
    customer_name: str = "",
    customer_external_id: str = "",
    touchpoint: str = "",
    department: str = "",
    channel: str = "",
) -> Response:
    """Feedback heard by an employee, attributed to them, stored like any other response.

    The customer is found by ``_customer_for_entry`` (scoped to what ``by`` may see), not by
    the organisation-wide intake lookup."""
    source = manual_source_for(program=program)
    customer_in = CustomerIn(external_id=customer_external_id, email=customer_email, name=customer_name)
    item = ResponseIn(
        external_id=f"manual-{uuid.uuid4().hex}",
        submitted_at=timezone.now(),
        scores={k: v for k, v in scores.items() if v is not None},
        comment=comment,
        touchpoint=touchpoint,
        department=department,
        answers={"channel": channel, "entered_by": getattr(by, "username", "")} if channel else {},
    )
    if not item.scores and not item.comment.strip():
        raise PayloadError({"comment": ["Write what the customer said, or give a score."]})
    ident(customer_external_id, field="customer_external_id", required=False)  # no NUL, fits
    probe = ResponseIn(external_id=item.external_id, customer=customer_in)
    _check_response_in(item=probe, source=source)  # the customer's e-mail and id, as intake checks them
    customer = _customer_for_entry(by=by, source=source, customer_in=customer_in)
    outcome = response_upsert(source=source, item=item, entered_by=by)
    response = outcome.response
    if customer is not None:
        Response.objects.filter(pk=response.pk).update(customer=customer)
        response.customer = customer
    return response


# --- details from the vendor -------------------------------------------------------------


class VendorFetchError(Exception):
    """The vendor API could not be reached or answered badly; the task may retry."""


class VendorRefused(VendorFetchError):
    """The vendor answered 4xx (bad credentials, unknown response): retrying will not help."""


def _http_get_json(url: str, *, headers: Mapping[str, str], kind: str, timeout: float = 10.0) -> Any:
    """GET a vendor API URL: only the vendor's documented hosts, redirects checked the same way
    (``feedback/vendor_hosts.py``); an unsafe URL is refused for good (``VendorRefused``)."""
    parsed = urllib.parse.urlparse(url)
    try:
        vendor_url_check(url, kind=kind)
    except UnsafeVendorUrl as exc:
        raise VendorRefused(f"Refusing to fetch {url!r}: {exc}") from None
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})  # noqa: S310
    try:
        with vendor_opener(kind).open(request, timeout=timeout) as reply:  # nosec B310
            return json.loads(reply.read(8 * 1024 * 1024).decode("utf-8-sig"))
    except UnsafeVendorUrl as exc:  # a redirect to somewhere else
        raise VendorRefused(f"Refusing a redirect from {parsed.netloc}: {exc}") from None
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code != 429:
            raise VendorRefused(f"HTTP {exc.code} from {parsed.netloc}") from exc
        raise VendorFetchError(f"HTTP {exc.code} from {parsed.netloc}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
        raise VendorFetchError(str(exc)) from exc


def details_request(*, source: Source, response: Response) -> tuple[str, dict[str, str]] | None:
    """The vendor API call that returns one response's details, or ``None`` without credentials."""
    creds = source.api_credentials or {}
    ref = (response.answers or {}).get(FETCH_KEY) or {}
    survey_id = str(ref.get("survey_id") or "")
    rid = urllib.parse.quote(response.external_id, safe="")
    sid = urllib.parse.quote(survey_id, safe="")
    if source.kind == Source.Kind.QUALTRICS and creds.get("base_url") and creds.get("api_token"):
        base = str(creds["base_url"]).rstrip("/")
        return f"{base}/API/v3/surveys/{sid}/responses/{rid}", {"X-API-TOKEN": str(creds["api_token"])}
    if source.kind == Source.Kind.SURVEYMONKEY and creds.get("access_token"):
        base = str(creds.get("base_url") or "https://api.surveymonkey.com").rstrip("/")
        return (
            # simple=true adds each choice's text, so a score answered by choice id is readable
            f"{base}/v3/surveys/{sid}/responses/{rid}/details?simple=true",
            {"Authorization": f"Bearer {creds['access_token']}"},
        )
    return None


def _details_to_response(*, data: Any, source: Source, ref: FetchRef) -> ResponseIn:
    """Map the vendor's API reply with the adapter module's pure helper
    (``response_from_api`` for Qualtrics, ``response_from_details`` for SurveyMonkey)."""
    import importlib

    module = importlib.import_module(f"feedback.sources.{source.kind}")
    helper = getattr(module, "response_from_api", None) or getattr(module, "response_from_details", None)
    if not callable(helper):
        raise VendorFetchError(f"The {source.kind} adapter cannot map API details")
    result = helper(data, source=source_config(source))
    if isinstance(result, ParseResult):
        result = result.responses[0]
    return result


def response_fetch_details(*, response_id: int, event_id: int | None = None) -> str:
    """Fill an ``awaiting_details`` response from the vendor API, then queue its processing.

    Without credentials the response stays ``awaiting_details`` (visible in the UI) and the
    event is marked done: the sweeper must not hammer a vendor we cannot call.
    """
    response = Response.objects.select_related("source__program").filter(id=response_id).first()
    if response is None or response.status != Response.Status.AWAITING_DETAILS:
        outbox_mark_processed(event_id=event_id)
        return "skipped"
    source = response.source
    call = details_request(source=source, response=response)
    if call is None:
        outbox_mark_processed(event_id=event_id)
        return "no_credentials"
    url, headers = call
    try:
        data = _http_get_json(url, headers=headers, kind=source.kind)
    except VendorRefused as exc:
        # Keep it visible as awaiting details; an operator fixes the credentials and re-runs.
        log.warning("vendor refused the details fetch", extra={"response_id": response_id, "error": str(exc)})
        OutboxEvent.objects.filter(id=event_id).update(last_error=str(exc)[:2000])
        outbox_mark_processed(event_id=event_id)
        return "vendor_refused"
    ref_data = (response.answers or {}).get(FETCH_KEY) or {}
    ref = FetchRef(
        external_id=response.external_id,
        survey_id=str(ref_data.get("survey_id") or ""),
        extra=dict(ref_data.get("extra") or {}),
    )
    try:
        if not isinstance(data, dict):
            raise PayloadError({"non_field_errors": ["The vendor API did not answer with a JSON object."]})
        item = _details_to_response(data=data, source=source, ref=ref)
        item.external_id = response.external_id
        with transaction.atomic():
            locked = Response.objects.select_for_update().get(id=response.id)
            if locked.status != Response.Status.AWAITING_DETAILS:
                outbox_mark_processed(event_id=event_id)
                return "skipped"
            _check_response_in(item=item, source=source)
            _apply(response=locked, item=item, source=source)
            locked.status = Response.Status.RECEIVED
            _save_checked(locked)
            outbox_enqueue(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=locked.id)
            outbox_mark_processed(event_id=event_id)
    except PayloadError as exc:
        log.warning("vendor details refused", extra={"response_id": response_id, "errors": exc.errors})
        Response.objects.filter(id=response.id).update(status=Response.Status.FAILED)
        outbox_mark_processed(event_id=event_id)
        return "failed"
    return "filled"


# --- programs and sources ----------------------------------------------------------------

DEFAULT_PROGRAM_SLUG = "default"
SIGNED_KINDS_WITH_OUR_SECRET = ("typeform",)  # vendors that let us choose the signing secret


@dataclass
class SourceCreated:
    """A new (or rotated) source with its plain token: shown once, then only its hash is kept."""

    source: Source
    token: str

    def payload(self, *, base_url: str) -> dict[str, str]:
        from django.urls import reverse

        return {
            "slug": self.source.slug,
            "intake_url": base_url.rstrip("/") + reverse("intake", kwargs={"slug": self.source.slug}),
            "token": self.token,
            "secret": self.source.secret,
        }


def _unique_slug(model: Any, base: str, *, max_length: int = 80) -> str:
    from django.utils.text import slugify

    root = (slugify(base) or "source")[: max_length - 5]
    slug, n = root, 2
    while model.objects.filter(slug=slug).exists():
        slug = f"{root}-{n}"
        n += 1
    return slug


def program_default() -> Program:
    """The program a source joins when none is named, so a fresh database works after migrate."""
    program = Program.objects.filter(slug=DEFAULT_PROGRAM_SLUG).first()
    if program is not None:
        return program
    department = Department.objects.order_by("id").first()
    if department is None:
        department, _ = Department.objects.get_or_create(
            slug="customer-experience", defaults={"name": "Customer Experience"}
        )
    program, _ = Program.objects.get_or_create(
        slug=DEFAULT_PROGRAM_SLUG, defaults={"name": "Default program", "department": department}
    )
    return program


def source_settings_validate(
    *, kind: str, field_map: Mapping[str, Any] | None, scales: Mapping[str, Any] | None, tz: str
) -> tuple[dict[str, str], dict[str, list[int]]]:
    """Kind, field map roles, scales and time zone, or field errors."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from .sources import KINDS
    from .sources._common import ROLES

    errors: dict[str, list[str]] = {}
    if kind not in KINDS:
        errors["kind"] = [f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}."]
    clean_map: dict[str, str] = {}
    if field_map is not None and not isinstance(field_map, Mapping):
        errors["field_map"] = ['Must be an object like {"nps": "q1"}.']
    for role, key in (field_map or {}).items() if isinstance(field_map, Mapping) else ():
        if role not in ROLES:
            errors.setdefault("field_map", []).append(
                f"Unknown role {role!r}; use one of {', '.join(ROLES)}."
            )
        elif not isinstance(key, str) or not key.strip():
            errors.setdefault("field_map", []).append(f"The key for {role!r} must be a non-empty text.")
        else:
            clean_map[role] = key.strip()
    clean_scales: dict[str, list[int]] = {}
    if scales is not None and not isinstance(scales, Mapping):
        errors["scales"] = ['Must be an object like {"csat": [1, 7]}.']
    for metric, pair in (scales or {}).items() if isinstance(scales, Mapping) else ():
        ok = (
            metric in METRICS
            and isinstance(pair, list | tuple)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            and pair[0] < pair[1]
        )
        if not ok:
            errors.setdefault("scales", []).append(
                f"{metric}: give [low, high] whole numbers with low < high for nps, csat or ces."
            )
        else:
            clean_scales[metric] = [int(pair[0]), int(pair[1])]
    try:
        ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [f"Unknown time zone {tz!r}."]
    if errors:
        raise ValidationError(errors)
    return clean_map, clean_scales


@transaction.atomic
def source_create(
    *,
    kind: str,
    name: str,
    program: Program | None = None,
    secret: str = "",
    field_map: Mapping[str, Any] | None = None,
    scales: Mapping[str, Any] | None = None,
    tz: str = "UTC",
    api_credentials: Mapping[str, Any] | None = None,
    rate_limit_per_minute: int | None = None,
) -> SourceCreated:
    """A source with a fresh token (and a generated secret where we may choose it)."""
    import secrets as _secrets

    clean_map, clean_scales = source_settings_validate(kind=kind, field_map=field_map, scales=scales, tz=tz)
    if not (name or "").strip():
        raise ValidationError({"name": ["This field is required."]})
    program = program or program_default()
    if not secret and kind in SIGNED_KINDS_WITH_OUR_SECRET:
        secret = _secrets.token_urlsafe(24)
    source = Source(
        program=program,
        name=name.strip(),
        slug=_unique_slug(Source, name),
        kind=kind,
        secret=secret or "",
        field_map=clean_map,
        scales=clean_scales,
        timezone=tz or "UTC",
        api_credentials=dict(api_credentials or {}),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    token = source.set_new_token()
    source.full_clean()
    source.save()
    return SourceCreated(source=source, token=token)


@transaction.atomic
def source_rotate(*, source: Source, secret: str | None = None) -> SourceCreated:
    """A new token (the old one stops working now) and, if given, a new secret."""
    token = source.set_new_token()
    if secret is not None:
        source.secret = secret
    source.rotated_at = timezone.now()
    source.save(update_fields=["token_hash", "token_prefix", "secret", "rotated_at"])
    return SourceCreated(source=source, token=token)


@transaction.atomic
def source_update(
    *,
    source: Source,
    name: str,
    field_map: Mapping[str, Any] | None,
    scales: Mapping[str, Any] | None,
    tz: str,
    is_active: bool = True,
) -> Source:
    clean_map, clean_scales = source_settings_validate(
        kind=source.kind, field_map=field_map, scales=scales, tz=tz
    )
    source.name = name.strip()
    source.field_map = clean_map
    source.scales = clean_scales
    source.timezone = tz or "UTC"
    source.is_active = is_active
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def program_save(*, program: Program) -> Program:
    """Create or update a program; it must say why it exists (purpose + measure or goal)."""
    errors: dict[str, list[str]] = {}
    if not (program.purpose or "").strip():
        errors["purpose"] = ["Say why this program exists: the decision it informs."]
    if not program.success_measure_id and not program.department_goal_id:
        errors["success_measure"] = ["Link the success measure or the department goal this program informs."]
    if errors:
        raise ValidationError(errors)
    if not program.slug:
        program.slug = _unique_slug(Program, program.name)
    program.full_clean()
    program.save()
    return program
