"""The contract between the intake service and a vendor adapter.

An adapter turns one HTTP delivery (raw bytes + headers) into zero or more ``ResponseIn``
(or ``FetchRef`` when the vendor only sends an event and the details must be fetched from
its API). It never touches the database and never invents a score the payload does not carry.
Scores are raw integers as the vendor sent them; the service validates them against the
source's scale and answers 400 with field errors when they are out of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class SignatureError(Exception):
    """Bad, missing or stale signature/token: the intake answers 401."""


class PayloadError(Exception):
    """The body cannot be understood: the intake answers 400 with ``errors`` (field -> messages)."""

    def __init__(self, errors: Mapping[str, list[str] | str] | str):
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors: dict[str, list[str]] = {
            k: ([v] if isinstance(v, str) else list(v)) for k, v in errors.items()
        }
        super().__init__(str(self.errors))


class UnsupportedMediaType(PayloadError):
    """The content type is not one this vendor sends: the intake answers 415."""


@dataclass(frozen=True)
class SourceConfig:
    """What an adapter may know about its source (a plain copy, no ORM)."""

    kind: str
    slug: str
    secret: str = ""
    token_hash: str = ""
    field_map: Mapping[str, str] = field(default_factory=dict)  # role -> vendor key / column
    scales: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    timezone: str = "UTC"


@dataclass
class CustomerIn:
    external_id: str = ""
    email: str = ""
    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResponseIn:
    """One response as the vendor described it, mapped onto our roles."""

    external_id: str
    submitted_at: datetime | None = None
    updated_at: datetime | None = None  # vendor's last-modified; an older one never overwrites
    customer: CustomerIn = field(default_factory=CustomerIn)
    scores: dict[str, int] = field(default_factory=dict)  # "nps" | "csat" | "ces" -> raw int
    comment: str = ""
    touchpoint: str = ""
    department: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    complete: bool = True  # False while a vendor reports a partial response


@dataclass
class FetchRef:
    """An event that names a response whose details live at the vendor (Qualtrics, SurveyMonkey)."""

    external_id: str
    survey_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    submitted_at: datetime | None = None  # when the vendor says it was completed (kept until details)


@dataclass
class ParseResult:
    responses: list[ResponseIn] = field(default_factory=list)
    fetch: list[FetchRef] = field(default_factory=list)
    delivery_id: str = ""  # vendor's delivery/event id, for idempotency (e.g. Formbricks webhook-id)
    ignored: str = ""  # a reason when the event is not about a response (e.g. a ping)


class Adapter:
    """Base class. ``content_types``: accepted media types (415 otherwise)."""

    kind: str = ""
    content_types: tuple[str, ...] = ("application/json",)
    auth: str = "bearer"  # "bearer" (Authorization: Bearer <token>) or "signature" (vendor signature)

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        """Raise ``SignatureError`` unless the request is authentic. Headers are lower-cased keys."""
        raise NotImplementedError

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        """Raise ``PayloadError`` for a body that cannot be understood."""
        raise NotImplementedError


@dataclass
class RowResult:
    """One data row of a CSV file: a response, or the reason it was refused (1-based ``row``,
    counting data rows as a spreadsheet user sees them, i.e. the header row is row 1)."""

    row: int
    response: ResponseIn | None = None
    error: str = ""


class CsvAdapter(Adapter):
    """CSV sources are imported from files, not posted. ``rows`` streams: memory stays flat.

    A row without an id column is keyed by a hash of its content plus its ordinal among
    identical rows in that file, so two identical rows are two responses and re-importing the
    same file adds nothing.
    """

    content_types = ("text/csv",)

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        raise SignatureError("CSV sources take files through the import endpoint")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        raise PayloadError("CSV sources take files through the import endpoint")

    def rows(self, *, fileobj: Any, source: SourceConfig) -> Any:
        """Yield ``RowResult`` for each data row of a binary file object."""
        raise NotImplementedError
