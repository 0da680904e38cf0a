"""Help Scout satisfaction ratings (webhook event ``satisfaction.ratings``).

Authenticity: ``Authorization: Bearer <token>``; when the source has the webhook's secret key,
``X-HelpScout-Signature`` = base64(HMAC-SHA1(secret, raw body)) is checked too.

Payload: the Rating object (https://developer.helpscout.com/webhooks/objects/rating).
Labels map onto CSAT 1–5: Great = 5, Okay = 3, Not Good (Help Scout's current label) or
Bad (the documented one) = 1. The rating id is the external id; ``modifiedAt`` orders updates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    b64_equal,
    bearer_verify,
    clean,
    header,
    hmac_digest,
    ident,
    json_object,
    lst,
    obj,
    secret_bytes,
    text,
    timestamp,
)
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SignatureError, SourceConfig

LABELS = {"great": 5, "okay": 3, "ok": 3, "not good": 1, "bad": 1}
EVENT = "satisfaction.ratings"


class HelpScoutAdapter(Adapter):
    kind = "helpscout"
    content_types = ("application/json",)
    auth = "bearer"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        bearer_verify(headers=headers, source=source)
        if source.secret:
            given = header(headers, "X-HelpScout-Signature")
            if not given:
                raise SignatureError("Missing X-HelpScout-Signature header.")
            expected = hmac_digest(key=secret_bytes(source), message=body, algorithm="sha1")
            if not b64_equal(expected=expected, given=given):
                raise SignatureError("Help Scout signature does not match the body.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        event = header(headers, "X-HelpScout-Event")
        if event and event != EVENT:
            return ParseResult(ignored=f"Help Scout event {event!r} is not a satisfaction rating.")
        data = json_object(body)
        return ParseResult(responses=[response_from_rating(data, source=source)])


def rating_score(label: Any) -> int:
    value = text(label)
    number = LABELS.get(" ".join(value.lower().split()))
    if number is None:
        raise PayloadError(
            {"rating": [f"Unknown Help Scout rating {value!r}: expected Great, Okay or Not Good."]}
        )
    return number


def response_from_rating(data: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    customer = obj(data.get("customer"))
    emails = [text(obj(item).get("value")) for item in lst(customer.get("emails"))]
    email = text(customer.get("email")) or next((e for e in emails if e), "")
    name = " ".join(p for p in (text(customer.get("firstName")), text(customer.get("lastName"))) if p)
    created = timestamp(data.get("createdAt"), source=source, field="createdAt")
    modified = timestamp(data.get("modifiedAt"), source=source, field="modifiedAt")
    answers = {
        key: clean(data[key])
        for key in ("rating", "ticketId", "threadId", "mailbox", "user")
        if data.get(key) is not None
    }
    response = ResponseIn(
        external_id=ident(data.get("id"), field="id"),
        submitted_at=created,
        updated_at=modified or created,
        customer=CustomerIn(
            external_id=ident(customer.get("id"), field="customer.id", required=False), email=email, name=name
        ),
        scores={"csat": rating_score(data.get("rating"))},
        comment=text(data.get("comments")),
        answers=answers,
    )
    apply_field_map(response, source=source, lookup=lambda key: data.get(key, MISSING))
    return response


adapter = HelpScoutAdapter()
