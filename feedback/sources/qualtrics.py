"""Qualtrics event subscriptions (``surveyengine.completedResponse.<SurveyID>``).

Qualtrics posts ``application/x-www-form-urlencoded`` bodies. With a ``sharedKey`` on the
subscription the body is ``Topic=...&MSG=<JSON event>&HMAC=<hex>`` where HMAC is the hex
HMAC-SHA512 of the (URL-decoded) MSG keyed with the shared key; without one the event fields
(``Status``, ``SurveyID``, ``ResponseID``, ``CompletedDate``...) are posted flat. We require the
shared key: an unsigned event cannot be verified. (What is signed was established from the
Qualtrics community answer on "HMAC signatures for webhook subscriptions" and an open-source
gateway's test vector; see tests/fixtures/vendors/SOURCES.md.)

The event only names the response: the answers live at Qualtrics. ``parse`` returns a
``FetchRef``; the intake's task fetches ``GET /API/v3/surveys/{SurveyID}/responses/{ResponseID}``
and hands the JSON to :func:`response_from_api` (pure, no network here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._common import (
    MISSING,
    apply_field_map,
    clean,
    form_body,
    hex_equal,
    hmac_digest,
    ident,
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

#: ``values`` keys that are response metadata rather than answers
META_KEYS = (
    "startDate",
    "endDate",
    "status",
    "ipAddress",
    "progress",
    "duration",
    "finished",
    "recordedDate",
    "_recordId",
    "locationLatitude",
    "locationLongitude",
    "distributionChannel",
    "userLanguage",
    "recipientEmail",
    "recipientFirstName",
    "recipientLastName",
    "externalDataReference",
)


class QualtricsAdapter(Adapter):
    kind = "qualtrics"
    content_types = ("application/x-www-form-urlencoded",)
    auth = "signature"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        secret = secret_required(source, vendor="Qualtrics")
        try:
            fields = form_body(body)
        except PayloadError:
            raise SignatureError("The body cannot be read, so its HMAC cannot be checked.") from None
        given, message = fields.get("HMAC", ""), fields.get("MSG")
        if not given or message is None:
            raise SignatureError(
                "Missing HMAC/MSG fields: create the Qualtrics subscription with a sharedKey."
            )
        expected = hmac_digest(
            key=secret, message=message.encode("utf-8", "surrogatepass"), algorithm="sha512"
        )
        if not hex_equal(expected=expected, given=given):
            raise SignatureError("Qualtrics HMAC does not match the message.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        fields = form_body(body)
        topic = fields.get("Topic", "")
        event: Mapping[str, Any] = fields
        if "MSG" in fields:
            try:
                decoded = json.loads(fields["MSG"])
            except (ValueError, RecursionError):
                raise PayloadError({"MSG": ["Must be the JSON event Qualtrics sends."]}) from None
            if not isinstance(decoded, dict):
                raise PayloadError({"MSG": ["Must be a JSON object."]})
            event = decoded
        if topic and "response" not in topic.lower():
            return ParseResult(ignored=f"Qualtrics topic {topic!r} is not about a response.")
        response_id = ident(event.get("ResponseID"), field="ResponseID")
        survey_id = ident(event.get("SurveyID"), field="SurveyID", required=False) or topic.rsplit(".", 1)[-1]
        extra = {
            "topic": topic,
            "status": text(event.get("Status")),
            "completed_date": text(event.get("CompletedDate")),
            "recipient_id": text(event.get("RecipientID")),
            "distribution_id": text(event.get("DistributionID")),
            "brand_id": text(event.get("BrandID")),
        }
        # CompletedDate ("2020-10-22 12:31:40") carries no zone: it is read in the source's
        # time zone (UTC unless the source says otherwise), never replaced by the receipt time.
        completed = timestamp(event.get("CompletedDate"), source=source, field="CompletedDate")
        return ParseResult(
            fetch=[
                FetchRef(
                    external_id=response_id,
                    survey_id=survey_id,
                    extra={k: v for k, v in extra.items() if v},
                    submitted_at=completed,
                )
            ],
        )


def response_from_api(data: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    """Map the Qualtrics "Retrieve a survey response" JSON (``{"result": {...}}`` or the result
    itself) onto a ``ResponseIn``; ``PayloadError`` if it is not one."""
    result = obj(data.get("result")) if isinstance(data.get("result"), dict) else obj(data)
    values = {str(k): clean(v) for k, v in obj(result.get("values")).items()}
    labels = {str(k): clean(v) for k, v in obj(result.get("labels")).items()}
    external_id = ident(result.get("responseId") or values.get("_recordId"), field="responseId")
    recorded = timestamp(values.get("recordedDate"), source=source, field="values.recordedDate")
    ended = timestamp(values.get("endDate"), source=source, field="values.endDate")
    first, last = text(values.get("recipientFirstName")), text(values.get("recipientLastName"))
    answers = {k: v for k, v in values.items() if k not in META_KEYS}
    if labels:
        answers["labels"] = labels
    finished = values.get("finished")
    response = ResponseIn(
        external_id=external_id,
        submitted_at=recorded or ended,
        updated_at=recorded or ended,
        customer=CustomerIn(
            external_id=ident(
                values.get("externalDataReference"), field="externalDataReference", required=False
            ),
            email=text(values.get("recipientEmail")),
            name=" ".join(p for p in (first, last) if p),
        ),
        answers=answers,
        complete=finished in (1, True, "1", "true", "True") if finished is not None else True,
    )

    def lookup(key: str) -> Any:
        if key in values:
            return values[key]
        return labels.get(key, MISSING)

    apply_field_map(response, source=source, lookup=lookup)
    return response


adapter = QualtricsAdapter()
