"""Intercom conversation ratings (webhook notifications).

Authenticity: ``Authorization: Bearer <token>``; when the source has the app's client secret,
``X-Hub-Signature: sha1=<hex HMAC-SHA1(secret, raw body)>`` is checked too
(https://developers.intercom.com/docs/webhooks, "Signed notifications").

A notification names a ``topic`` and carries the object in ``data.item``. A conversation with
``conversation_rating.rating`` (1–5) becomes a CSAT response keyed by the conversation id,
its ``remark`` the comment. Other topics (``ping``, contact events...) and conversations that
have not been rated yet are acknowledged and ignored: there is no score to record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    bearer_verify,
    clean,
    header,
    hex_equal,
    hmac_digest,
    ident,
    json_object,
    lst,
    obj,
    score,
    secret_bytes,
    text,
    timestamp,
)
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SignatureError, SourceConfig


class IntercomAdapter(Adapter):
    kind = "intercom"
    content_types = ("application/json",)
    auth = "bearer"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        bearer_verify(headers=headers, source=source)
        if source.secret:
            given = header(headers, "X-Hub-Signature")
            scheme, _, value = given.partition("=")
            if scheme.lower() != "sha1" or not value:
                raise SignatureError("Missing or malformed X-Hub-Signature header (expected sha1=<hex>).")
            expected = hmac_digest(key=secret_bytes(source), message=body, algorithm="sha1")
            if not hex_equal(expected=expected, given=value):
                raise SignatureError("Intercom signature does not match the body.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_object(body)
        topic = text(data.get("topic"))
        delivery_id = ident(data.get("id"), field="id", required=False)
        item = obj(obj(data.get("data")).get("item"))
        if not topic.startswith("conversation") or text(item.get("type")) not in ("conversation", ""):
            return ParseResult(ignored=f"Intercom topic {topic or 'none'!r} is not a conversation rating.")
        rating = obj(item.get("conversation_rating"))
        if rating.get("rating") is None:
            return ParseResult(ignored="The conversation has no rating yet.", delivery_id=delivery_id)
        return ParseResult(
            responses=[response_from_conversation(item, source=source)], delivery_id=delivery_id
        )


def response_from_conversation(item: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    rating = obj(item.get("conversation_rating"))
    value = score(rating.get("rating"), field="conversation_rating.rating")
    if value is None:  # pragma: no cover - parse() checks first
        raise PayloadError({"conversation_rating.rating": ["This field is required."]})
    author = obj(obj(item.get("source")).get("author"))
    contacts = [obj(c) for c in lst(obj(item.get("contacts")).get("contacts"))]
    rater = obj(rating.get("contact")) or obj(rating.get("customer"))
    contact = next((c for c in contacts if c.get("id") == rater.get("id")), contacts[0] if contacts else {})
    person = author if text(author.get("type")) in ("user", "lead", "contact") else {}
    rated_at = timestamp(rating.get("created_at"), source=source, field="conversation_rating.created_at")
    response = ResponseIn(
        external_id=ident(item.get("id"), field="data.item.id"),
        submitted_at=rated_at
        or timestamp(item.get("created_at"), source=source, field="data.item.created_at"),
        updated_at=timestamp(item.get("updated_at"), source=source, field="data.item.updated_at") or rated_at,
        customer=CustomerIn(
            external_id=ident(
                contact.get("external_id") or rater.get("id") or person.get("id"),
                field="contact",
                required=False,
            ),
            email=text(person.get("email")),
            name=text(person.get("name")),
        ),
        scores={"csat": value},
        comment=text(rating.get("remark")),
        answers={"conversation_rating": clean(rating)},
    )
    attributes = obj(item.get("custom_attributes"))
    apply_field_map(response, source=source, lookup=lambda key: attributes.get(key, MISSING))
    return response


adapter = IntercomAdapter()
