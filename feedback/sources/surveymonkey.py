"""SurveyMonkey webhooks (API v3).

Authenticity: ``Sm-Signature`` = base64(HMAC-SHA1(key, raw body)) where the key is
``"<Sm-Apikey header>&<app API secret>"`` (the source's secret is the app's API secret).
A source without the secret is refused.

SurveyMonkey posts events (``response_completed``, ``response_updated``...) naming the response
in ``object_id`` and the survey in ``resources.survey_id``; the answers must be fetched from
``GET /v3/surveys/{survey_id}/responses/{id}/details``. ``parse`` returns a ``FetchRef``; the
intake's task fetches the details and calls :func:`response_from_details`, which maps the
answers with the field map (role -> question id). Ask for ``?simple=true`` so answers carry
``simple_text`` (the choice's text, e.g. ``"9"`` on an NPS question); otherwise pass
``choices`` (choice id -> value) taken from the survey details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    b64_equal,
    clean,
    header,
    hmac_digest,
    ident,
    json_object,
    lst,
    obj,
    secret_required,
    text,
    timestamp,
)
from .base import (
    Adapter,
    CustomerIn,
    FetchRef,
    ParseResult,
    PayloadError,
    ResponseIn,
    SignatureError,
    SourceConfig,
)

RESPONSE_EVENTS = ("response_completed", "response_updated", "response_created")


class SurveyMonkeyAdapter(Adapter):
    kind = "surveymonkey"
    content_types = (
        "application/json",
        "application/vnd.surveymonkey.response.v1+json",
        "application/vnd.surveymonkey.survey.v1+json",
        "application/vnd.surveymonkey.collector.v1+json",
        "application/vnd.surveymonkey.app.v1+json",
    )
    auth = "signature"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        secret = secret_required(source, vendor="SurveyMonkey")
        api_key = header(headers, "Sm-Apikey")
        signature = header(headers, "Sm-Signature")
        if not api_key or not signature:
            raise SignatureError("Missing Sm-Apikey or Sm-Signature header.")
        key = api_key.encode("utf-8", "surrogatepass") + b"&" + secret
        if not b64_equal(expected=hmac_digest(key=key, message=body, algorithm="sha1"), given=signature):
            raise SignatureError("SurveyMonkey signature does not match the body.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_object(body)
        event_type = text(data.get("event_type"))
        delivery_id = ident(data.get("event_id"), field="event_id", required=False)
        if event_type not in RESPONSE_EVENTS:
            return ParseResult(
                ignored=f"SurveyMonkey event {event_type or 'none'!r} is not a response to fetch."
            )
        resources = obj(data.get("resources"))
        ref = FetchRef(
            external_id=ident(data.get("object_id"), field="object_id"),
            survey_id=ident(resources.get("survey_id") or data.get("filter_id"), field="resources.survey_id"),
            extra={
                key: text(value)
                for key, value in (
                    ("event_type", event_type),
                    ("event_datetime", data.get("event_datetime")),
                    ("collector_id", resources.get("collector_id")),
                    ("respondent_id", resources.get("respondent_id")),
                    ("recipient_id", resources.get("recipient_id")),
                )
                if text(value)
            },
        )
        if event_type == "response_completed":  # the event's time is when the response was completed
            ref.submitted_at = timestamp(data.get("event_datetime"), source=source, field="event_datetime")
        return ParseResult(fetch=[ref], delivery_id=delivery_id)


def answer_value(answer: Mapping[str, Any], choices: Mapping[str, Any]) -> Any:
    """Readable value of one answer: its simple_text, typed text, or the mapped choice value."""
    if answer.get("simple_text") is not None:
        return clean(answer["simple_text"])
    choice_id = text(answer.get("choice_id"))
    if choice_id and choice_id in choices:
        return clean(choices[choice_id])
    if answer.get("text") is not None:
        return clean(answer["text"])
    if choice_id:
        return {
            "choice_id": choice_id,
            **({"row_id": text(answer["row_id"])} if answer.get("row_id") else {}),
        }
    return clean(dict(answer))


def response_from_details(
    data: Mapping[str, Any], *, source: SourceConfig, choices: Mapping[str, Any] | None = None
) -> ResponseIn:
    """Map a SurveyMonkey "response details" JSON onto a ``ResponseIn`` (pure; no network)."""
    choices = {str(k): v for k, v in (choices or {}).items()}
    answers: dict[str, Any] = {}
    for page in lst(data.get("pages")):
        for question in lst(obj(page).get("questions")):
            question = obj(question)
            question_id = text(question.get("id"))
            if not question_id:
                continue
            values = [answer_value(obj(a), choices) for a in lst(question.get("answers"))]
            answers[question_id] = values[0] if len(values) == 1 else values
    custom = {str(k): clean(v) for k, v in obj(data.get("custom_variables")).items()}
    contact = obj(obj(data.get("metadata")).get("contact"))

    def contact_value(name: str) -> str:
        value = contact.get(name)
        return text(obj(value).get("value")) if isinstance(value, dict) else text(value)

    created = timestamp(data.get("date_created"), source=source, field="date_created")
    modified = timestamp(data.get("date_modified"), source=source, field="date_modified")
    response = ResponseIn(
        external_id=ident(data.get("id"), field="id"),
        submitted_at=created,
        updated_at=modified or created,
        customer=CustomerIn(
            external_id=ident(data.get("custom_value"), field="custom_value", required=False),
            email=contact_value("email"),
            name=" ".join(p for p in (contact_value("first_name"), contact_value("last_name")) if p),
        ),
        answers={**answers, **({"custom_variables": custom} if custom else {})},
        complete=text(data.get("response_status")) in ("completed", ""),
    )

    def lookup(key: str) -> Any:
        value = answers.get(key, custom.get(key, MISSING))
        if isinstance(value, dict) and "choice_id" in value:
            raise PayloadError(
                {
                    key: [
                        "Answered by choice id only: fetch details with ?simple=true "
                        "or pass the survey's choices."
                    ]
                }
            )
        return value

    apply_field_map(response, source=source, lookup=lookup)
    return response


#: the name the intake's details task looks up on every fetch-style adapter module
response_from_api = response_from_details

adapter = SurveyMonkeyAdapter()
