"""Delighted webhooks (https://app.delighted.com/docs/api/webhooks).

Authenticity: ``Authorization: Bearer <token>`` (the source's token in the webhook URL
settings). Events: ``survey_response.created`` the moment a person scores, then
``survey_response.updated`` when the comment arrives or the score changes; both carry the same
response id, so the service upserts, and ``updated_at`` (unix seconds) decides which is newer.
``unsubscribe.created`` is not a response and is ignored.

``survey_type`` names the metric. Delighted's own scales map onto ours: NPS and eNPS are
0–10 (nps), CSAT and the five-point smileys/stars are 1–5 (csat), CES is 1–7 (ces). Other
survey types (thumbs, PMF...) have no metric here and are refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    bearer_verify,
    clean,
    ident,
    json_object,
    lst,
    obj,
    score,
    text,
    timestamp,
)
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SourceConfig

SURVEY_TYPES = {
    "nps": "nps",
    "enps": "nps",
    "csat": "csat",
    "smileys": "csat",
    "five_star": "csat",
    "stars": "csat",
    "ces": "ces",
}
RESPONSE_EVENTS = ("survey_response.created", "survey_response.updated")


class DelightedAdapter(Adapter):
    kind = "delighted"
    content_types = ("application/json",)
    auth = "bearer"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        bearer_verify(headers=headers, source=source)

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_object(body)
        event_type = text(data.get("event_type"))
        if event_type not in RESPONSE_EVENTS:
            return ParseResult(
                ignored=f"Delighted event {event_type or 'without a type'!r} is not a response."
            )
        event = data.get("event_data")
        if not isinstance(event, dict):
            raise PayloadError({"event_data": ["This field is required."]})
        return ParseResult(
            responses=[response_from_delighted(event, source=source)],
            delivery_id=ident(data.get("event_id"), field="event_id", required=False),
        )


def additional_answer_value(value: Mapping[str, Any]) -> Any:
    """The readable value of one ``additional_answers[].value``."""
    for key in ("free_response", "scale"):
        if value.get(key) is not None:
            return clean(value[key])
    if isinstance(value.get("select_one"), dict):
        return text(value["select_one"].get("text"))
    if isinstance(value.get("select_many"), list):
        return [text(obj(choice).get("text")) for choice in value["select_many"]]
    return None


def response_from_delighted(event: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    survey_type = text(event.get("survey_type")).lower() or "nps"
    metric = SURVEY_TYPES.get(survey_type)
    if metric is None:
        raise PayloadError(
            {
                "event_data.survey_type": [
                    f"Delighted survey type {survey_type!r} has no NPS/CSAT/CES metric here."
                ]
            }
        )
    person = obj(event.get("person"))
    properties = {str(k): clean(v) for k, v in obj(event.get("person_properties")).items()}
    extra: dict[str, Any] = {}
    for raw in lst(event.get("additional_answers")):
        item = obj(raw)
        question = obj(item.get("question"))
        key = text(question.get("id")) or text(item.get("id"))
        if key:
            extra[key] = additional_answer_value(obj(item.get("value")))
    created = timestamp(event.get("created_at"), source=source, field="event_data.created_at")
    updated = timestamp(event.get("updated_at"), source=source, field="event_data.updated_at")
    value = score(event.get("score"), field=f"scores.{metric}")
    answers: dict[str, Any] = {"survey_type": survey_type, **extra}
    if properties:
        answers["person_properties"] = properties
    for key in ("permalink", "tags", "notes"):
        if event.get(key):
            answers[key] = clean(event[key])
    response = ResponseIn(
        external_id=ident(event.get("id"), field="event_data.id"),
        submitted_at=created,
        updated_at=updated or created,
        customer=CustomerIn(
            external_id=ident(person.get("id"), field="event_data.person.id", required=False),
            email=text(person.get("email")),
            name=text(person.get("name")),
        ),
        scores={metric: value} if value is not None else {},
        comment=text(event.get("comment")),
        answers=answers,
    )

    def lookup(key: str) -> Any:
        for bag in (properties, extra):
            if key in bag:
                return bag[key]
        return MISSING

    apply_field_map(response, source=source, lookup=lookup)
    return response


adapter = DelightedAdapter()
