"""Formbricks webhooks (``responseCreated`` / ``responseUpdated`` / ``responseFinished``).

Authenticity follows Standard Webhooks, as Formbricks documents it
(https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks):
``webhook-signature: v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>``
where the key is the base64-decoded part of the ``whsec_...`` secret. Several space-separated
signatures may be sent (secret rotation); one match is enough. A timestamp more than five
minutes away from now is refused, so a captured request cannot be replayed later; the
``webhook-id`` is handed to the service as the delivery id for idempotency.

The same response arrives several times (created, updated, finished): each carries the
response id and ``updatedAt`` so the service upserts and an older event never overwrites a
newer one. A response without any score (comment-only, or nothing answered yet) is still a
response.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    b64_equal,
    clean,
    header,
    hmac_digest,
    ident,
    json_body,
    obj,
    secret_required,
    text,
    timestamp,
)
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SignatureError, SourceConfig

EVENTS = ("responseCreated", "responseUpdated", "responseFinished")
TOLERANCE_SECONDS = 300


class FormbricksAdapter(Adapter):
    kind = "formbricks"
    content_types = ("application/json",)
    auth = "signature"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # injectable so documented test vectors with old timestamps can be checked

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        secret = secret_required(source, vendor="Formbricks")
        webhook_id = header(headers, "webhook-id")
        sent = header(headers, "webhook-timestamp")
        signatures = header(headers, "webhook-signature")
        if not (webhook_id and sent and signatures):
            raise SignatureError("Missing webhook-id, webhook-timestamp or webhook-signature header.")
        if not (sent.isascii() and sent.isdigit()) or len(sent) > 12:
            raise SignatureError("webhook-timestamp must be unix seconds.")
        if abs(self.clock() - int(sent)) > TOLERANCE_SECONDS:
            raise SignatureError("Stale webhook-timestamp: more than 5 minutes from now (replay refused).")
        message = f"{webhook_id}.{sent}.".encode("utf-8", "surrogatepass") + body
        expected = hmac_digest(key=signing_key(secret), message=message, algorithm="sha256")
        for candidate in signatures.split():
            version, _, value = candidate.partition(",")
            if version == "v1" and b64_equal(expected=expected, given=value):
                return
        raise SignatureError("Formbricks webhook-signature does not match the body.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_body(body)
        # Formbricks' documentation shows each payload wrapped in a one-element array.
        events = data if isinstance(data, list) else [data]
        result = ParseResult(delivery_id=ident(header(headers, "webhook-id"), required=False))
        skipped = []
        for event in events:
            if not isinstance(event, dict):
                raise PayloadError("Each Formbricks event must be a JSON object.")
            name = text(event.get("event"))
            if name not in EVENTS:
                skipped.append(name or "unknown")
                continue
            payload = event.get("data")
            if not isinstance(payload, dict):
                raise PayloadError({"data": ["This field is required."]})
            result.responses.append(response_from_formbricks(payload, source=source))
        if not result.responses:
            result.ignored = f"Formbricks event(s) {', '.join(skipped) or 'none'} carry no response."
        return result


def signing_key(secret: bytes) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (raw bytes if it is not base64)."""
    raw = secret[6:] if secret.startswith(b"whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw


def response_from_formbricks(payload: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    """Map a Formbricks response object (``data`` of the webhook) onto a ``ResponseIn``."""
    answers = {str(k): clean(v) for k, v in obj(payload.get("data")).items()}
    variables = {str(k): clean(v) for k, v in obj(payload.get("variables")).items()}
    contact = obj(payload.get("contact"))
    attributes = obj(payload.get("contactAttributes"))
    created = timestamp(payload.get("createdAt"), source=source, field="data.createdAt")
    updated = timestamp(payload.get("updatedAt"), source=source, field="data.updatedAt")
    name = text(attributes.get("name")) or " ".join(
        part for part in (text(attributes.get("firstName")), text(attributes.get("lastName"))) if part
    )
    response = ResponseIn(
        external_id=ident(payload.get("id"), field="data.id"),
        submitted_at=created,
        updated_at=updated or created,
        customer=CustomerIn(
            external_id=ident(
                attributes.get("userId") or contact.get("userId") or contact.get("id"),
                field="data.contact",
                required=False,
            ),
            email=text(attributes.get("email")),
            name=name,
            attributes=clean({k: v for k, v in attributes.items() if k not in ("email", "userId")}),
        ),
        answers={**answers, **({"variables": variables} if variables else {})},
        complete=bool(payload.get("finished")) if "finished" in payload else True,
    )
    meta = obj(payload.get("meta"))
    if meta:
        response.answers["meta"] = clean(meta)

    def lookup(key: str) -> Any:
        for bag in (answers, variables, attributes):
            if key in bag:
                return bag[key]
        return MISSING

    apply_field_map(response, source=source, lookup=lookup)
    return response


def sign_for_tests(
    *, secret: str, webhook_id: str, sent_at: datetime | None = None, body: bytes
) -> dict[str, str]:
    """Headers Formbricks would send; used by tests and the demo to exercise the real check."""
    stamp = str(int((sent_at or datetime.now(tz=UTC)).timestamp()))
    key = signing_key(secret.encode())
    digest = hmac_digest(key=key, message=f"{webhook_id}.{stamp}.".encode() + body, algorithm="sha256")
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


adapter = FormbricksAdapter()
