"""The generic JSON intake: any integration that can POST our own documented body.

Body (DESIGN.md, Public contract)::

    {"external_id", "submitted_at", "updated_at", "customer": {"external_id", "email", "name"},
     "scores": {"nps"|"csat"|"ces": int}, "comment", "touchpoint", "department", "answers": {...}}

Only ``external_id`` and one of ``scores``/``comment`` are required. Errors are collected per
field so an integrator fixes all of them in one round trip. Scales are the service's business
(it knows the source's scales); here a score only has to be a whole number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._common import METRICS, bearer_verify, clean, ident, json_object, obj, score, text, timestamp
from .base import Adapter, CustomerIn, ParseResult, PayloadError, ResponseIn, SourceConfig


class GenericAdapter(Adapter):
    kind = "generic"
    content_types = ("application/json",)
    auth = "bearer"

    def verify(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> None:
        bearer_verify(headers=headers, source=source)

    def parse(self, *, body: bytes, headers: Mapping[str, str], source: SourceConfig) -> ParseResult:
        data = json_object(body)
        return ParseResult(responses=[response_from_dict(data, source=source)])


def response_from_dict(data: Mapping[str, Any], *, source: SourceConfig) -> ResponseIn:
    """Validate one generic body into a ``ResponseIn``, all field errors at once."""
    errors: dict[str, list[str]] = {}

    def attempt(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PayloadError as exc:
            for key, messages in exc.errors.items():
                errors.setdefault(key, []).extend(messages)
            return None

    raw_id = data.get("external_id")
    if isinstance(raw_id, dict | list | bool):
        errors["external_id"] = ["Must be a string or a number."]
        external_id = ""
    else:
        external_id = attempt(ident, raw_id, field="external_id") or ""

    submitted_at = attempt(timestamp, data.get("submitted_at"), source=source, field="submitted_at")
    updated_at = attempt(timestamp, data.get("updated_at"), source=source, field="updated_at")

    customer = CustomerIn()
    raw_customer = data.get("customer")
    if raw_customer is not None and not isinstance(raw_customer, dict):
        errors["customer"] = ["Must be an object."]
    else:
        raw_customer = obj(raw_customer)
        customer = CustomerIn(
            external_id=attempt(
                ident, raw_customer.get("external_id"), field="customer.external_id", required=False
            )
            or "",
            email=text(raw_customer.get("email")),
            name=text(raw_customer.get("name")),
            attributes=clean(
                {k: v for k, v in raw_customer.items() if k not in ("external_id", "email", "name")}
            ),
        )

    scores: dict[str, int] = {}
    raw_scores = data.get("scores")
    if raw_scores is not None and not isinstance(raw_scores, dict):
        errors["scores"] = ['Must be an object like {"nps": 9}.']
    else:
        for metric, value in obj(raw_scores).items():
            key = f"scores.{metric}"
            if metric not in METRICS:
                errors[key] = ["Unknown metric; use nps, csat or ces."]
                continue
            if isinstance(value, str) or (isinstance(value, float) and not value.is_integer()):
                errors[key] = ["A whole number is required."]
                continue
            number = attempt(score, value, field=key)
            if number is not None:
                scores[metric] = number

    for name in ("comment", "touchpoint", "department"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = ["Must be a string."]

    answers = data.get("answers")
    if answers is not None and not isinstance(answers, dict):
        errors["answers"] = ["Must be an object."]
        answers = {}

    comment = text(data.get("comment")) if isinstance(data.get("comment"), str) else ""
    if not errors and not scores and not comment:
        errors["non_field_errors"] = ["Either scores or a comment is required."]
    if errors:
        raise PayloadError(errors)

    return ResponseIn(
        external_id=external_id,
        submitted_at=submitted_at,
        updated_at=updated_at,
        customer=customer,
        scores=scores,
        comment=comment,
        touchpoint=text(data.get("touchpoint")),
        department=text(data.get("department")),
        answers=clean(obj(answers)),
    )


adapter = GenericAdapter()
