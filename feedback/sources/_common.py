"""Helpers every adapter shares: authentication, JSON decoding, timestamps, scores and text.

They exist so each vendor module stays a short description of that vendor's payload, and so
the rules that protect the intake (constant-time compares, never a 500 on odd input, never a
string PostgreSQL cannot store) live in one place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .base import PayloadError, SignatureError, SourceConfig

METRICS = ("nps", "csat", "ces")
ROLES = (
    "external_id",
    "submitted_at",
    "email",
    "name",
    "customer_id",
    "department",
    "nps",
    "csat",
    "ces",
    "comment",
    "touchpoint",
)
MAX_ID_LENGTH = 255

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: what a CSV reader leaves where a file had a NUL (a Unicode noncharacter, never real text),
#: so an id cell with a NUL is refused rather than silently becoming another id
NUL_MARK = "\ufffe"
CONTROL_ID_MESSAGE = (
    "Must not contain control characters (such as NUL): an id is stored exactly as sent, or refused."
)


def has_control(value: str) -> bool:
    """True for text holding a C0/C1 control character or a CSV NUL mark (``isprintable`` first:
    it is the cheap common answer)."""
    if value.isprintable():
        return False
    return _CONTROL.search(value) is not None or NUL_MARK in value


# --- headers and authentication -------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str:
    """A header value whatever the case of its name ("" when absent)."""
    value = headers.get(name.lower())
    if value is None:
        value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if str(key).lower() == lowered:
                value = candidate
                break
    return str(value).strip() if value is not None else ""


def bearer_verify(*, headers: Mapping[str, str], source: SourceConfig) -> None:
    """``Authorization: Bearer <token>`` whose SHA-256 equals the source's token hash.

    Only the hash is stored, so a leaked database does not leak working tokens; the compare is
    constant-time so the hash cannot be guessed byte by byte.
    """
    value = header(headers, "Authorization")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise SignatureError("Missing bearer token: send 'Authorization: Bearer <token>'.")
    if not source.token_hash:
        raise SignatureError("This source has no token; rotate it to get one.")
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    if not hmac.compare_digest(digest.encode(), source.token_hash.encode("utf-8", "replace")):
        raise SignatureError("Invalid bearer token.")


def hmac_digest(*, key: bytes, message: bytes, algorithm: str) -> bytes:
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def b64_equal(*, expected: bytes, given: str) -> bool:
    """Compare a raw digest with a base64 text from a header, in constant time."""
    try:
        decoded = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(expected, decoded)


def hex_equal(*, expected: bytes, given: str) -> bool:
    """Compare a raw digest with a hex text from a header, in constant time."""
    return hmac.compare_digest(expected.hex().encode(), given.strip().lower().encode("utf-8", "replace"))


def secret_bytes(source: SourceConfig) -> bytes:
    return source.secret.encode("utf-8")


# --- bodies ---------------------------------------------------------------------------------


def json_body(body: bytes) -> Any:
    """Decode a JSON body (UTF-8, with or without BOM) or raise ``PayloadError``."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PayloadError("The body is not valid UTF-8 JSON.") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise PayloadError("The body is not valid JSON.") from None


def json_object(body: bytes) -> dict[str, Any]:
    data = json_body(body)
    if not isinstance(data, dict):
        raise PayloadError("The body must be a JSON object.")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendors send null for absent parts)."""
    return value if isinstance(value, dict) else {}


def lst(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- text -----------------------------------------------------------------------------------


def clean(value: Any) -> Any:
    """Make any JSON value storable in PostgreSQL: no NUL, no lone surrogates, string keys.

    Everything else is kept as the vendor sent it (HTML included: templates escape it).
    """
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        if _SURROGATES.search(value):
            value = _SURROGATES.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {str(clean(str(k))): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def text(value: Any) -> str:
    """A vendor value as clean text ("" for null); numbers become their decimal text."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean(str(value)).strip()


def ident(value: Any, *, field: str = "external_id", required: bool = True) -> str:
    """An identifier as text; required ones must be present and fit the column. Control
    characters are refused, not stripped: ``"a\x00b"`` and ``"ab"`` are different ids."""
    if isinstance(value, str) and has_control(value.strip()):
        raise PayloadError({field: [CONTROL_ID_MESSAGE]})
    result = text(value)
    if required and not result:
        raise PayloadError({field: ["This field is required."]})
    if len(result) > MAX_ID_LENGTH:
        raise PayloadError({field: [f"Ensure this value has at most {MAX_ID_LENGTH} characters."]})
    return result


# --- numbers --------------------------------------------------------------------------------


def to_int(value: Any) -> int | None:
    """A whole number from an int, an integral float or a numeric string; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        candidate = value.strip()
        if re.fullmatch(r"[+-]?\d{1,18}", candidate):
            return int(candidate)
        if re.fullmatch(r"[+-]?\d{1,18}\.0*", candidate):
            return int(candidate.split(".")[0])
    return None


def score(value: Any, *, field: str) -> int | None:
    """A score the payload carries (``None`` when it carries none), or a field error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = to_int(value)
    if number is None:
        raise PayloadError({field: ["A whole number is required."]})
    if abs(number) > 32767:
        raise PayloadError({field: ["The score is out of range."]})
    return number


# --- time -----------------------------------------------------------------------------------


def zone(source: SourceConfig) -> tzinfo:
    try:
        return ZoneInfo(source.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise PayloadError({"timezone": [f"Unknown time zone {source.timezone!r} on this source."]}) from None


_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


def timestamp(
    value: Any, *, source: SourceConfig, field: str = "submitted_at", tz: tzinfo | None = None
) -> datetime | None:
    """An aware datetime from ISO 8601 text, a common spreadsheet format or a unix timestamp.

    Zone-less values are in the source's time zone (the vendor's account setting), never
    silently UTC; unparseable values are a field error rather than "now". ``tz`` overrides
    the source's zone (a CSV export naming its own), and saves a lookup per row.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int | float):
            return _from_unix(float(value))
        if not isinstance(value, str):
            raise ValueError
        candidate = value.strip()
        if not candidate:
            return None
        if re.fullmatch(r"\d{9,13}(\.\d+)?", candidate):
            return _from_unix(float(candidate))
        parsed = _parse_text(candidate)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz or zone(source))
        parsed.utcoffset()  # raises for impossible offsets
        return parsed
    except PayloadError:
        raise
    except (ValueError, OverflowError, OSError, TypeError):
        raise PayloadError({field: ["Enter a valid date/time."]}) from None


def _from_unix(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise ValueError
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    return datetime.fromtimestamp(seconds, tz=UTC)


def _parse_text(candidate: str) -> datetime:
    iso = candidate
    if iso.endswith(("Z", "z")):
        iso = iso[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(candidate, fmt)
        except ValueError:
            continue
    raise ValueError(candidate)


# --- vendor signatures ----------------------------------------------------------------------


def secret_required(source: SourceConfig, *, vendor: str) -> bytes:
    """A signature can only be checked against a secret: without one, nothing is authentic."""
    if not source.secret:
        raise SignatureError(f"This {vendor} source has no signing secret, so no request can be verified.")
    return secret_bytes(source)


def check_window(*, sent_at: datetime, now: float, window: int = 300) -> None:
    """Refuse signatures whose timestamp is more than ``window`` seconds off (replays)."""
    if abs(sent_at.timestamp() - now) > window:
        raise SignatureError("Stale signature timestamp: more than 5 minutes from now (replay refused).")


def form_body(body: bytes) -> dict[str, str]:
    """A form-encoded body (last value wins for repeated keys); ``PayloadError`` if undecodable."""
    from urllib.parse import parse_qsl

    try:
        text_body = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PayloadError("The form body is not valid UTF-8.") from None
    try:
        pairs = parse_qsl(text_body, keep_blank_values=True, strict_parsing=False, max_num_fields=1000)
    except ValueError:
        raise PayloadError("The form body cannot be parsed.") from None
    return {clean(k): clean(v) for k, v in pairs}


# --- mapping roles ------------------------------------------------------------------------


MISSING = object()


def apply_field_map(
    response: Any, *, source: SourceConfig, lookup: Any, extra_roles: tuple[str, ...] = ()
) -> None:
    """Fill a ``ResponseIn`` from the source's field map (role -> vendor key).

    ``lookup(key)`` returns the vendor's value for a question id/ref/property or ``MISSING``.
    A mapped key that the payload does not carry leaves the role alone: vendors omit
    unanswered questions, and an absent answer is not a score.
    """
    field_map = source.field_map if isinstance(source.field_map, Mapping) else {}
    for role in (*ROLES, *extra_roles):
        key = field_map.get(role)
        if not isinstance(key, str) or not key.strip():
            continue
        value = lookup(key.strip())
        if value is MISSING or value is None:
            continue
        if role in METRICS:
            number = score(_scalar(value), field=role)
            if number is not None:
                response.scores[role] = number
        elif role == "comment":
            response.comment = (
                text(_scalar(value)) if not isinstance(value, list) else ", ".join(map(text, value))
            )
        elif role == "email":
            response.customer.email = text(_scalar(value))
        elif role == "name":
            response.customer.name = text(_scalar(value))
        elif role == "customer_id":
            response.customer.external_id = ident(_scalar(value), field="customer_id", required=False)
        elif role in ("department", "touchpoint"):
            setattr(response, role, text(_scalar(value)))
        elif role == "submitted_at":
            response.submitted_at = timestamp(_scalar(value), source=source)
        elif role == "external_id":
            mapped = ident(_scalar(value), required=False)
            if mapped:
                response.external_id = mapped


def _scalar(value: Any) -> Any:
    """The usable scalar inside a vendor answer ({"label": ...}, single-item lists)."""
    if isinstance(value, dict):
        for key in ("label", "value", "text", "number", "score"):
            if key in value:
                return value[key]
        return None
    if isinstance(value, list) and len(value) == 1:
        return _scalar(value[0])
    if isinstance(value, list):
        return None
    return value
