"""Customers' privacy requests: export everything we hold on a customer, or erase it.

Entry points (each writes a ``PrivacyRequest`` audit row: who, when, what, never the data):
- ``customer_find``: the customer a request is about, by row id, e-mail or vendor id.
- ``customer_data_export``: a JSON-ready dict of every personal field we hold on the customer,
  their responses (comments, answers), the raw deliveries that carried them, and what the
  follow-up actions recorded about them.
- ``customer_erase``: anonymise the customer and the personal fields of their responses, and
  scrub the raw delivery bodies and follow-up notes that repeat them. Scores, bands, sentiment,
  themes, departments and dates stay, so dashboards and ROI figures do not move.

The command ``manage.py customer_privacy export|erase`` drives both (docs/operations.md).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cxgov.fields import MAX_ID, int_or_none

from .models import (
    ActionComment,
    ActionItem,
    ContactLog,
    Customer,
    CustomerChange,
    CustomerDelivery,
    PrivacyRequest,
    RawDelivery,
    Response,
)

ERASED = "[erased]"


def customer_find(*, ref: str) -> Customer:
    """A customer by row id, e-mail (case-insensitive) or vendor customer id."""
    ref = (ref or "").strip()
    if not ref:
        raise ValidationError({"customer": "Give the customer's id, e-mail or vendor id."})
    query = Q(email__iexact=ref) | Q(external_id=ref)
    pk = int_or_none(ref, min_value=1, max_value=MAX_ID)
    if pk is not None:
        query |= Q(pk=pk)
    matches = list(Customer.objects.filter(query)[:2])
    if not matches:
        raise ValidationError({"customer": f"No customer matches {ref!r}."})
    if len(matches) > 1:
        raise ValidationError({"customer": f"{ref!r} matches more than one customer; use the row id."})
    return matches[0]


def _body_text(body: bytes | memoryview) -> Any:
    raw = bytes(body or b"")
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _actions_about(customer: Customer) -> Any:
    return ActionItem.objects.filter(response__customer=customer).order_by("id")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@transaction.atomic
def customer_data_export(*, customer: Customer, by: Any, reason: str = "") -> dict[str, Any]:
    """Everything we hold on ``customer``, in a form we can hand them (GDPR art. 15)."""
    customer = Customer.objects.get(pk=customer.pk)  # what is stored now, not a stale copy
    responses = list(
        Response.objects.filter(customer=customer)
        .select_related("source", "program", "department")
        .order_by("id")
    )
    deliveries = list(RawDelivery.objects.filter(response__customer=customer).order_by("id"))
    actions = list(_actions_about(customer).prefetch_related("contacts", "comments"))
    data: dict[str, Any] = {
        "customer": {
            "id": customer.pk,
            "external_id": customer.external_id,
            "email": customer.email,
            "name": customer.name,
            "attributes": customer.attributes,
            "created_at": _iso(customer.created_at),
            "updated_at": _iso(customer.updated_at),
            "erased_at": _iso(customer.erased_at),
        },
        "responses": [
            {
                "id": r.pk,
                "source": r.source.slug,
                "program": r.program.name,
                "external_id": r.external_id,
                "submitted_at": _iso(r.submitted_at),
                "scores": r.scores,
                "comment": r.comment,
                "answers": r.answers,
                "touchpoint": r.touchpoint_label,
                "department": r.department.name if r.department else "",
                "status": r.status,
            }
            for r in responses
        ],
        "deliveries": [
            {
                "id": d.pk,
                "received_at": _iso(d.received_at),
                "response": d.response_id,
                "content_type": d.content_type,
                "body": _body_text(d.body),
            }
            for d in deliveries
        ],
        "follow_ups": [
            {
                "action": a.pk,
                "title": a.title,
                "status": a.status,
                "contacts": [
                    {"at": _iso(c.at), "channel": c.channel, "outcome": c.outcome, "note": c.note}
                    for c in a.contacts.all()
                ],
                "comments": [c.body for c in a.comments.all()],
            }
            for a in actions
        ],
    }
    PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.EXPORT,
        customer=customer,
        customer_ref=str(customer.pk),
        by=by,
        reason=reason[:255],
        summary={"responses": len(responses), "deliveries": len(deliveries), "follow_ups": len(actions)},
    )
    return data


def _scrub(text: str, needles: list[str]) -> str:
    for needle in needles:
        if needle:
            text = _replace_ci(text, needle, ERASED)
    return text


def _replace_ci(text: str, needle: str, replacement: str) -> str:
    lowered, low_needle = text.lower(), needle.lower()
    out, start = [], 0
    while (found := lowered.find(low_needle, start)) != -1:
        out.append(text[start:found])
        out.append(replacement)
        start = found + len(needle)
    out.append(text[start:])
    return "".join(out)


@transaction.atomic
def customer_erase(*, customer: Customer, by: Any, reason: str = "") -> PrivacyRequest:
    """Anonymise ``customer`` (GDPR art. 17) while keeping the scores that feed the metrics.

    Idempotent: erasing twice changes nothing more and records a second request.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    needles = [
        n
        for n in (customer.name.strip(), customer.email.strip(), customer.external_id.strip())
        if len(n) >= 3
    ]
    response_ids = list(Response.objects.filter(customer=customer).values_list("id", flat=True))
    responses = Response.objects.filter(id__in=response_ids).update(
        comment="", answers={}, updated_at=timezone.now()
    )
    deliveries = RawDelivery.objects.filter(response_id__in=response_ids).update(
        body=b"", headers={}, error=ERASED
    )
    notes = 0
    actions = list(ActionItem.objects.filter(response_id__in=response_ids))
    for action in actions:
        title = _scrub(action.title, needles)
        if title != action.title:
            ActionItem.objects.filter(pk=action.pk).update(title=title)  # no new history row with the name
        for past in action.history.all():  # the audit trail keeps who/when/what, not the name
            scrubbed = _scrub(past.title, needles)
            if scrubbed != past.title:
                type(past).objects.filter(pk=past.pk).update(title=scrubbed)
    notes += ContactLog.objects.filter(action__in=actions).exclude(note="").update(note=ERASED)
    notes += ActionComment.objects.filter(action__in=actions).update(body=ERASED)
    for mail in CustomerDelivery.objects.filter(customer=customer):  # the "we fixed it" e-mails sent
        mail.email, mail.name, mail.last_error = f"erased-{mail.pk}", "", ""
        mail.save(update_fields=["email", "name", "last_error", "updated_at"])
    # the audit of changes keeps who and when, not the old and new e-mails and names
    CustomerChange.objects.filter(customer=customer).update(changes={"erased": True})
    customer.external_id = ""
    customer.email = ""
    customer.name = ""
    customer.attributes = {}
    customer.erased_at = timezone.now()
    customer.full_clean()
    customer.save()
    return PrivacyRequest.objects.create(
        kind=PrivacyRequest.Kind.ERASE,
        customer=customer,
        customer_ref=str(customer.pk),
        by=by,
        reason=reason[:255],
        summary={
            "responses": responses,
            "deliveries": deliveries,
            "follow_ups": len(actions),
            "notes": notes,
        },
    )
