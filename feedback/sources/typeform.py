"""Typeform webhooks (``form_response`` events).

Authenticity: ``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>``
(https://www.typeform.com/developers/webhooks/secure-your-webhooks/). The raw bytes are
signed, so the check runs before any decoding. A source without a secret is refused: an
unsigned Typeform request cannot be told apart from anyone's.

Payload (https://www.typeform.com/developers/webhooks/example-payload/): answers carry
``field.id`` (and sometimes ``field.ref``); refs and titles come from ``definition.fields``.
The field map may name a question by id or ref, a hidden field or a variable key. Scores
come only from mapped questions: a form has many numbers and we never guess which is NPS.
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
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SignatureError, SourceConfig

#: answer "type" -> the key holding its value
VALUE_KEYS = {
    "text": "text",
    "email": "email",
    "url": "url",
    "file_url": "file_url",
    "date": "date",
    "phone_number": "phone_number",
    "number": "number",
    "boolean": "boolean",
    "choice": "choice",
    "choices": "choices",
    "payment": "payment",
    "multi_format": "multi_format",
}


class TypeformAdapter(Adapter):
    kind = "typeform"
    content_types = ("application/json",)
    auth = "signature"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        secret = secret_required(source, vendor="Typeform")
        given = header(headers, "Typeform-Signature")
        if not given:
            raise SignatureError("Missing Typeform-Signature header.")
        scheme, _, signature = given.partition("=")
        if scheme.strip().lower() != "sha256" or not signature:
            raise SignatureError("Typeform-Signature must look like 'sha256=<base64>'.")
        expected = hmac_digest(key=secret, message=body, algorithm="sha256")
        if not b64_equal(expected=expected, given=signature):
            raise SignatureError("Typeform signature does not match the body.")

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_object(body)
        event_type = text(data.get("event_type"))
        if event_type and event_type != "form_response":
            return ParseResult(ignored=f"Typeform event {event_type!r} is not a form response.")
        form = data.get("form_response")
        if not isinstance(form, dict):
            raise PayloadError({"form_response": ["This field is required."]})
        response = form_response_to_response(form, source=source)
        return ParseResult(responses=[response], delivery_id=ident(data.get("event_id"), required=False))


def answer_value(answer: Mapping[str, Any]) -> Any:
    """The readable value of one answer: text, number, bool, choice label(s)..."""
    kind = text(answer.get("type"))
    key = VALUE_KEYS.get(kind, kind)
    value = answer.get(key) if key else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") if value.get("label") is not None else value.get("other")
    if kind == "choices" and isinstance(value, dict):
        labels = list(lst(value.get("labels")))
        if value.get("other") is not None:
            labels.append(value.get("other"))
        return labels
    return clean(value)


def form_response_to_response(form: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    """Map a ``form_response`` object onto a ``ResponseIn``."""
    external_id = ident(form.get("token") or form.get("response_id"), field="form_response.token")
    definition = obj(form.get("definition"))
    refs: dict[str, str] = {}
    for field_def in lst(definition.get("fields")):
        field_def = obj(field_def)
        field_id, ref = text(field_def.get("id")), text(field_def.get("ref"))
        if field_id and ref:
            refs[field_id] = ref

    by_key: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    email_answer = ""
    for raw in lst(form.get("answers")):
        answer = obj(raw)
        field_info = obj(answer.get("field"))
        field_id = text(field_info.get("id"))
        ref = text(field_info.get("ref")) or refs.get(field_id, "")
        value = answer_value(answer)
        if not field_id and not ref:
            continue
        answers[ref or field_id] = value
        for key in (field_id, ref):
            if key:
                by_key[key] = value
        if text(answer.get("type")) == "email" and not email_answer:
            email_answer = text(value)

    hidden = {str(k): clean(v) for k, v in obj(form.get("hidden")).items()}
    variables: dict[str, Any] = {}
    for raw in lst(form.get("variables")):
        variable = obj(raw)
        key = text(variable.get("key"))
        if key:
            kind = text(variable.get("type"))
            variables[key] = clean(variable.get(kind) if kind else variable.get("value"))
    if hidden:
        answers["hidden"] = hidden
    if variables:
        answers["variables"] = variables
    if isinstance(form.get("calculated"), dict):
        answers["calculated"] = clean(form["calculated"])

    response = ResponseIn(
        external_id=external_id,
        submitted_at=timestamp(form.get("submitted_at"), source=source, field="form_response.submitted_at"),
        customer=CustomerIn(email=email_answer or text(hidden.get("email"))),
        answers=answers,
    )

    def lookup(key: str) -> Any:
        for bag in (by_key, hidden, variables):
            if key in bag:
                return bag[key]
        return MISSING

    apply_field_map(response, source=source, lookup=lookup)
    return response


adapter = TypeformAdapter()
