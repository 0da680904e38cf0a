"""Zendesk CSAT: satisfaction ratings posted by a webhook (trigger or API-shaped body).

Authenticity: ``Authorization: Bearer <token>``; when the source has the webhook's signing
secret, ``X-Zendesk-Webhook-Signature`` is checked too: base64(HMAC-SHA256(secret,
timestamp + body)) with ``X-Zendesk-Webhook-Signature-Timestamp``
(https://developer.zendesk.com/documentation/webhooks/verifying/), and a timestamp more than
five minutes off is refused. Zendesk's own published example signs body + timestamp, so that
order is accepted as well; both need the secret, so neither weakens the check.

Bodies accepted: the Satisfaction Rating object of the API (flat or under
``satisfaction_rating``) and the JSON a trigger sends with placeholders, e.g.
``{"ticket": {"id": "{{ticket.id}}", "requester": {"email": ..., "name": ...},
"satisfaction": {"current_rating": "{{satisfaction.current_rating}}",
"current_comment": "{{satisfaction.current_comment}}"}}}``.

Labels map onto CSAT 1–5: good = 5, bad = 1. ``offered``/``unoffered`` mean the customer was
asked (or not) and has not answered: that is not a score, so none is recorded.

Identity: the response's external id is the satisfaction rating's ``id`` (integrators look up
rating 35436 under 35436; a later change of the same rating upserts it). The ticket id is kept
in the answers (``ticket_id``) to link the response to its ticket. A trigger body has no
rating id unless it sends one (``satisfaction.id``); without it the ticket id is the key, as
the trigger can only describe the ticket's current rating.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    b64_equal,
    bearer_verify,
    check_window,
    clean,
    header,
    hmac_digest,
    ident,
    json_object,
    obj,
    secret_bytes,
    text,
    timestamp,
)
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SignatureError, SourceConfig

LABELS = {"good": 5, "bad": 1}
NOT_SCORES = ("offered", "unoffered", "not offered", "not_offered", "")


class ZendeskAdapter(Adapter):
    kind = "zendesk"
    content_types = ("application/json",)
    auth = "bearer"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        bearer_verify(headers=headers, source=source)
        if source.secret:
            self.verify_signature(body=body, headers=headers, secret=secret_bytes(source), source=source)

    def verify_signature(
        self, *, body: bytes, headers: Mapping[str, str], secret: bytes, source: SourceConfig
    ) -> None:
        signature = header(headers, "X-Zendesk-Webhook-Signature")
        sent = header(headers, "X-Zendesk-Webhook-Signature-Timestamp")
        if not signature or not sent:
            raise SignatureError("Missing X-Zendesk-Webhook-Signature or its -Timestamp header.")
        try:
            sent_at = timestamp(
                sent, source=SourceConfig(kind="zendesk", slug=source.slug), field="timestamp"
            )
        except PayloadError:
            raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is not a timestamp.") from None
        if sent_at is None:
            raise SignatureError("X-Zendesk-Webhook-Signature-Timestamp is empty.")
        check_window(sent_at=sent_at, now=self.clock())
        stamp = sent.encode("utf-8", "surrogatepass")
        for message in (stamp + body, body + stamp):
            if b64_equal(
                expected=hmac_digest(key=secret, message=message, algorithm="sha256"), given=signature
            ):
                return
        raise SignatureError("Zendesk webhook signature does not match the body.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_object(body)
        if isinstance(data.get("satisfaction_rating"), dict):
            return ParseResult(responses=[from_rating(data["satisfaction_rating"], source=source)])
        if "score" in data and ("ticket_id" in data or "id" in data):
            return ParseResult(responses=[from_rating(data, source=source)])
        if isinstance(data.get("ticket"), dict):
            return ParseResult(responses=[from_trigger(data, source=source)])
        raise PayloadError(
            "Expected a Zendesk satisfaction rating (score + ticket_id) or a trigger ticket body."
        )


def label_score(label: Any, *, field: str) -> int | None:
    """good -> 5, bad -> 1, offered/unoffered -> no score; anything else is a field error."""
    value = text(label).lower()
    if value in NOT_SCORES:
        return None
    for name, number in LABELS.items():
        if value == name or value.startswith(name + " ") or value.startswith(name + ","):
            return number
    raise PayloadError(
        {field: [f"Unknown Zendesk satisfaction rating {text(label)!r}: expected good or bad."]}
    )


def from_rating(rating: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    value = label_score(rating.get("score"), field="score")
    ticket_id = ident(rating.get("ticket_id"), field="ticket_id", required=False)
    answers = {
        key: clean(rating[key])
        for key in ("id", "score", "reason", "reason_code", "assignee_id", "group_id", "ticket_id", "url")
        if rating.get(key) is not None
    }
    created = timestamp(rating.get("created_at"), source=source, field="created_at")
    updated = timestamp(rating.get("updated_at"), source=source, field="updated_at")
    rating_id = ident(rating.get("id"), field="id", required=not ticket_id)
    response = ResponseIn(
        external_id=rating_id or ticket_id,
        submitted_at=created,
        updated_at=updated or created,
        customer=CustomerIn(
            external_id=ident(rating.get("requester_id"), field="requester_id", required=False)
        ),
        scores={"csat": value} if value is not None else {},
        comment=text(rating.get("comment")),
        answers=answers,
    )
    apply_field_map(response, source=source, lookup=lambda key: rating.get(key, MISSING))
    return response


def from_trigger(data: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    ticket = obj(data.get("ticket"))
    satisfaction = obj(ticket.get("satisfaction")) or obj(data.get("satisfaction"))
    requester = obj(ticket.get("requester"))
    rating = satisfaction.get("current_rating", satisfaction.get("score"))
    value = label_score(rating, field="ticket.satisfaction.current_rating")
    ticket_id = ident(ticket.get("id"), field="ticket.id")
    rating_id = ident(satisfaction.get("id"), field="ticket.satisfaction.id", required=False)
    updated = timestamp(
        ticket.get("updated_at") or satisfaction.get("updated_at"), source=source, field="ticket.updated_at"
    )
    response = ResponseIn(
        external_id=rating_id or ticket_id,
        submitted_at=updated,
        updated_at=updated,
        customer=CustomerIn(
            external_id=ident(
                requester.get("id") or requester.get("external_id"), field="requester", required=False
            ),
            email=text(requester.get("email")),
            name=text(requester.get("name")),
        ),
        scores={"csat": value} if value is not None else {},
        comment=text(satisfaction.get("current_comment") or satisfaction.get("comment")),
        answers={"ticket_id": ticket_id, "ticket": clean(ticket)},
    )

    def lookup(key: str) -> Any:
        for bag in (ticket, data):
            if key in bag:
                return bag[key]
        return MISSING

    apply_field_map(response, source=source, lookup=lookup)
    return response


adapter = ZendeskAdapter()
