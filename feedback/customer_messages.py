"""Telling customers about a systemic fix: one real e-mail per customer, with a record of each.

Why it is built this way:
- "Customer told" means a message went out. The leader writes (or picks) a message on a fixed
  systemic action, previews it per customer, sees who gets it and who does not (no e-mail,
  erased, unsubscribed or otherwise suppressed) and sends. Each customer gets their own e-mail
  through Django's mail backend (``EMAIL_URL``) and a ``CustomerDelivery`` row: queued, sent,
  failed with the reason.
- Sending is a Celery task per delivery with declared ``autoretry_for`` / back-off /
  ``max_retries``; the request only writes rows and hands ids to a relay thread after commit
  (never the broker in a request). A beat sweeper re-publishes rows the relay lost.
- Telling a customer about the fix is not working their follow-up: a sent e-mail records
  ``fix_notified_at`` on the customer's inner-loop action and leaves it open. Follow-ups nobody
  has contacted yet are listed for the ambassador (``inner_loops_open``).
- The suppression list is checked when recipients are listed and again just before each send;
  every e-mail carries a signed unsubscribe link (and ``List-Unsubscribe`` headers).
- Names go into ``To:`` header-safe: CR/LF and other control characters stripped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from charter.models import User
from cxgov.mail import header_safe
from cxgov.relay import BatchRelay

from .models import (
    ActionItem,
    CustomerDelivery,
    CustomerMessage,
    EmailSuppression,
    Insight,
    Loop,
    email_normalise,
)
from .notifications import action_url, notification_create

log = logging.getLogger(__name__)

S = ActionItem.Status
D = CustomerDelivery.Status
UNSUBSCRIBE_SALT = "cxgov.customer-unsubscribe"
MAX_RETRIES = 5
SWEEP_AFTER = timedelta(minutes=5)

TEMPLATES: dict[str, tuple[str, str]] = {
    "fixed": (
        "We fixed what you told us about",
        "Hello {name},\n\nYou told us about a problem, and we listened. {fix}\n\n"
        "Thank you for taking the time to tell us. If anything is still not right, reply to this e-mail.",
    ),
    "improved": (
        "An update on your feedback",
        "Hello {name},\n\nThank you for your feedback. Because of it, we changed how we work: {fix}\n\n"
        "We would love to hear whether you notice the difference.",
    ),
}
TEMPLATE_CHOICES = [("fixed", "We fixed it"), ("improved", "We improved it")]


class DeliveryFailed(Exception):
    """The mail server refused or could not be reached; the task retries."""


def template_text(*, key: str, action: ActionItem) -> tuple[str, str]:
    subject, body = TEMPLATES.get(key, TEMPLATES["fixed"])
    fix = (action.fix or "").strip() or "We made a change."
    return subject, body.replace("{fix}", fix)


# --- who gets it ---------------------------------------------------------------------------


@dataclass
class Recipient:
    customer_id: int | None
    name: str
    email: str
    inner_action: ActionItem | None
    excluded: str = ""  # why not, when not


def recipients_list(*, action: ActionItem) -> tuple[list[Recipient], list[Recipient]]:
    """(who gets the e-mail, who does not and why) among the customers behind the systemic
    action's insights. One customer (by customer or by address) gets one e-mail. Two queries."""
    insights = (
        Insight.objects.filter(systemic_action=action)
        .select_related("response__customer", "inner_action_link__action")
        .order_by("created_at", "id")
    )
    rows = []
    for insight in insights:
        customer = insight.response.customer
        link = getattr(insight, "inner_action_link", None)
        inner = link.action if link is not None else None
        rows.append((customer, inner))
    emails = {email_normalise(c.email) for c, _i in rows if c is not None and c.email}
    suppressed = dict(
        EmailSuppression.objects.filter(email__in=sorted(emails)).values_list("email", "reason")
    )
    labels = dict(EmailSuppression.Reason.choices)
    eligible: list[Recipient] = []
    excluded: list[Recipient] = []
    seen: set[str] = set()
    seen_customers: set[int] = set()
    for customer, inner in rows:
        if customer is None:
            excluded.append(Recipient(None, "Anonymous", "", inner, "Anonymous response"))
            continue
        if customer.pk in seen_customers:
            continue
        seen_customers.add(customer.pk)
        email = email_normalise(customer.email)
        recipient = Recipient(customer.pk, customer.name, email, inner)
        if customer.erased_at is not None:
            recipient.name, recipient.email, recipient.excluded = (
                "Erased customer",
                "",
                "Personal data erased",
            )
        elif not email:
            recipient.excluded = "No e-mail address"
        elif email in suppressed:
            recipient.excluded = f"Suppressed: {labels.get(suppressed[email], suppressed[email])}"
        elif email in seen:
            continue  # the same address behind two customers: one e-mail
        if recipient.excluded:
            excluded.append(recipient)
            continue
        seen.add(email)
        eligible.append(recipient)
    return eligible, excluded


def message_render(*, subject: str, body: str, name: str, fix: str = "") -> tuple[str, str]:
    """The subject and text one customer reads: ``{name}`` is their name (or "there"),
    ``{fix}`` the fix recorded on the systemic action."""
    who = header_safe(name) or "there"
    text = body.replace("{fix}", fix.strip()).replace("{name}", who)
    return header_safe(subject.replace("{name}", who)), text


def unsubscribe_token(email: str) -> str:
    return signing.dumps(email_normalise(email), salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_email_from(token: str) -> str | None:
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, str) and "@" in value else None


def unsubscribe_url(email: str, *, base_url: str = "") -> str:
    """The absolute link (``CXGOV_BASE_URL``, else the site the leader sent from)."""
    path = reverse("feedback:unsubscribe", kwargs={"token": unsubscribe_token(email)})
    base = getattr(settings, "CXGOV_BASE_URL", "") or base_url
    return f"{base.rstrip('/')}{path}" if base else path


def _footer(email: str, *, base_url: str = "") -> str:
    return (
        "\n\n--\nYou receive this because you gave us feedback. "
        f"To receive no more of these messages: {unsubscribe_url(email, base_url=base_url)}"
    )


# --- send ----------------------------------------------------------------------------------


@transaction.atomic
def customer_message_send(
    *,
    action: ActionItem,
    subject: str,
    body: str,
    by: User,
    base_url: str = "",
    now: datetime | None = None,
) -> CustomerMessage:
    """Queue one e-mail per eligible customer of a fixed systemic action, then send them after
    commit. Inner-loop actions are not closed: each sent e-mail only records that the customer
    was notified of the fix. The owners of follow-ups still open are told so."""
    now = now or timezone.now()
    action = ActionItem.objects.select_for_update().get(pk=action.pk)
    subject, body = header_safe(subject), body.strip()
    errors: dict[str, str] = {}
    if action.loop != Loop.OUTER:
        raise ValidationError({"body": "Only a systemic (outer-loop) action tells customers."})
    if action.status not in (S.FIXED, S.VERIFIED):
        raise ValidationError({"body": "Close the systemic action with its fix before telling customers."})
    if CustomerMessage.objects.filter(action=action).exists():
        raise ValidationError({"body": "The customers were sent a message already; see the deliveries."})
    if not subject:
        errors["subject"] = "Write the e-mail's subject."
    if not body:
        errors["body"] = "Write what you tell the customers (what changed for them)."
    if errors:
        raise ValidationError(errors)
    eligible, _excluded = recipients_list(action=action)
    if not eligible:
        raise ValidationError(
            {"body": "No customer can be e-mailed: none has an address that is not suppressed."}
        )
    body = body.replace("{fix}", (action.fix or "").strip())
    message = CustomerMessage(
        action=action, subject=subject, body=body, created_by=by, base_url=base_url[:200]
    )
    message.full_clean(exclude=["action", "created_by"])
    message.save()
    deliveries = CustomerDelivery.objects.bulk_create(
        CustomerDelivery(
            message=message,
            customer_id=r.customer_id,
            inner_action=r.inner_action,
            email=r.email,
            name=header_safe(r.name)[:255],
            queued_at=now,
        )
        for r in eligible
    )
    action._history_user = by  # type: ignore[attr-defined]
    action._change_reason = f"Message to {len(deliveries)} customer(s) queued"  # type: ignore[attr-defined]
    action.save(update_fields=["updated_at"])
    url = action_url(action.pk)
    owners = {r.inner_action.owner_id for r in eligible if r.inner_action and r.inner_action.is_open}
    for owner in User.objects.filter(pk__in=owners):
        notification_create(
            user=owner,
            subject=header_safe(f"Customers e-mailed about the fix of “{action.title}”"),
            body=(
                "Each customer was sent the message below. Your follow-ups stay open until you "
                f"speak with the customer and resolve them.\n\n{body}"
            ),
            url=url,
            dedupe_key=f"fix-mail:{action.pk}:{owner.pk}",
        )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: customer_deliveries_dispatch(delivery_ids=ids))
    return message


def customer_deliveries_dispatch(*, delivery_ids: Iterable[int]) -> None:
    """After commit: eager (embedded default, tests) runs each task inline with its retries;
    otherwise a relay thread publishes them, so a Redis outage never hangs the request."""
    ids = list(delivery_ids)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        from .tasks import customer_delivery_send_task

        for delivery_id in ids:
            customer_delivery_send_task.apply(args=[delivery_id])
        return
    _relay.put(ids)


def _publish(delivery_ids: list[int]) -> None:
    from .tasks import customer_delivery_send_task

    for delivery_id in delivery_ids:
        customer_delivery_send_task.apply_async(args=[delivery_id], retry=False)


_relay = BatchRelay(label="customer mail relay", publish=_publish, batch_size=100, ids_key="delivery_ids")


def customer_delivery_send(
    *, delivery_id: int, final: bool = False, now: datetime | None = None
) -> str | None:
    """Send one delivery if it still needs sending and record the outcome; returns its status.

    A failure is recorded (attempts, reason) and raised as ``DeliveryFailed`` so the task
    retries with back-off, except on the ``final`` attempt, which records ``failed`` for good.
    The row stays locked while sending, so two workers never send it twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            CustomerDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("message", "message__action", "message__created_by")
            .filter(pk=delivery_id, status__in=[D.QUEUED, D.RETRYING])
            .first()
        )
        if delivery is None:  # sent already, given up, gone, or being sent by another worker
            return None
        if EmailSuppression.objects.filter(email=email_normalise(delivery.email)).exists():
            delivery.status = D.CANCELLED
            delivery.save(update_fields=["status", "updated_at"])
            return delivery.status
        delivery.attempts += 1
        try:
            _email_send(delivery=delivery)
        except Exception as exc:  # the backend's failure, whatever it is, is this delivery's reason
            delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            delivery.status = D.FAILED if final else D.RETRYING
            delivery.save(update_fields=["attempts", "last_error", "status", "updated_at"])
            log.warning(
                "customer e-mail failed", extra={"delivery_id": delivery.pk, "attempts": delivery.attempts}
            )
            if not final:
                failure = DeliveryFailed(delivery.last_error)
            else:
                return delivery.status
        else:
            delivery.status, delivery.sent_at, delivery.last_error = D.SENT, now, ""
            delivery.save(update_fields=["attempts", "last_error", "status", "sent_at", "updated_at"])
            _notified_record(delivery=delivery, now=now)
            return delivery.status
    raise failure  # after the commit: the failure is recorded, the task retries


def _email_send(*, delivery: CustomerDelivery) -> None:
    message = delivery.message
    subject, text = message_render(subject=message.subject, body=message.body, name=delivery.name)
    link = unsubscribe_url(delivery.email, base_url=message.base_url)
    to = formataddr((header_safe(delivery.name), delivery.email)) if delivery.name else delivery.email
    email = EmailMessage(
        subject=subject,
        body=text + _footer(delivery.email, base_url=message.base_url),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    if not email.send(fail_silently=False):
        raise DeliveryFailed("the mail backend sent nothing")


def _notified_record(*, delivery: CustomerDelivery, now: datetime) -> None:
    """The e-mail went out: the systemic action's customers are told (from the first one) and
    the customer's own follow-up records that they were notified of the fix. Nothing closes."""
    from .actions import _save

    action = delivery.message.action
    by = delivery.message.created_by
    if action.customer_told_at is None:
        locked = ActionItem.objects.select_for_update().get(pk=action.pk)
        if locked.customer_told_at is None:
            locked.customer_told_at = now
            _save(locked, by=by, reason="Customers told: first e-mail sent")
    if delivery.inner_action_id is None:
        return
    inner = ActionItem.objects.select_for_update().filter(pk=delivery.inner_action_id).first()
    if inner is not None and inner.fix_notified_at is None:
        inner.fix_notified_at = now
        _save(inner, by=by, reason="Notified of the fix (e-mail sent)")


def customer_deliveries_retry(*, action: ActionItem, by: User) -> int:
    """Queue the failed deliveries of ``action`` again (a person pressed "Retry"). Returns how many."""
    with transaction.atomic():
        ids = list(
            CustomerDelivery.objects.select_for_update()
            .filter(message__action=action, status=D.FAILED)
            .values_list("pk", flat=True)
        )
        CustomerDelivery.objects.filter(pk__in=ids).update(status=D.QUEUED, queued_at=timezone.now())
        if ids:
            transaction.on_commit(lambda: customer_deliveries_dispatch(delivery_ids=ids))
    return len(ids)


def customer_deliveries_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat: queued deliveries nobody tried for a while (the relay lost them) go again."""
    now = now or timezone.now()
    ids = list(
        CustomerDelivery.objects.filter(status=D.QUEUED, attempts=0, queued_at__lte=now - SWEEP_AFTER)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        customer_deliveries_dispatch(delivery_ids=ids)
    return len(ids)


@transaction.atomic
def email_unsubscribe(*, email: str) -> EmailSuppression:
    """The customer asked for no more messages: the address joins the suppression list, and
    anything still queued for it is cancelled. Doing it twice changes nothing."""
    email = email_normalise(email)
    suppression, _created = EmailSuppression.objects.get_or_create(
        email=email, defaults={"reason": EmailSuppression.Reason.UNSUBSCRIBED}
    )
    CustomerDelivery.objects.filter(email=email, status__in=[D.QUEUED, D.RETRYING]).update(status=D.CANCELLED)
    return suppression


# --- reading ---------------------------------------------------------------------------------


def deliveries_for(*, action: ActionItem) -> list[CustomerDelivery]:
    return list(
        CustomerDelivery.objects.filter(message__action=action)
        .select_related("inner_action")
        .order_by("status", "email")
    )


def delivery_counts(deliveries: Iterable[CustomerDelivery]) -> dict[str, int]:
    counts = {status: 0 for status in D.values}
    for delivery in deliveries:
        counts[delivery.status] += 1
    return counts


def inner_loops_open(*, action: ActionItem) -> list[ActionItem]:
    """The systemic action's follow-ups still open, never-contacted first: what the
    ambassador still has to work (an e-mail about the fix closes none of them)."""
    items = list(
        ActionItem.objects.filter(
            inner_links__insight__systemic_action=action, loop=Loop.INNER, status__in=ActionItem.OPEN_STATUSES
        )
        .select_related("owner", "response__customer")
        .order_by("first_contacted_at", "due_at", "id")
    )
    items.sort(key=lambda a: (a.first_contacted_at is not None, a.due_at))
    return items


def preview_for(
    *, action: ActionItem, subject: str, body: str, customer_id: Any, base_url: str = ""
) -> dict[str, Any] | None:
    """What one eligible customer would read (the first when none is chosen)."""
    eligible, _excluded = recipients_list(action=action)
    if not eligible:
        return None
    chosen = next((r for r in eligible if str(r.customer_id) == str(customer_id)), eligible[0])
    subject_out, text = message_render(subject=subject, body=body, name=chosen.name, fix=action.fix)
    to = formataddr((header_safe(chosen.name), chosen.email)) if chosen.name else chosen.email
    footer = _footer(chosen.email, base_url=base_url)
    return {"recipient": chosen, "to": to, "subject": subject_out, "body": text + footer}
