"""Outbound notifications: e-mail and Slack/Teams incoming webhooks, per user preferences.

Why it is built this way:
- ``Notification`` rows are their own outbox. A service records them inside its transaction
  (``notification_create``); sending happens after commit, in a Celery task (or inline in the
  embedded default). A dead SMTP server or webhook never blocks or fails the pipeline: the
  row is marked ``failed`` with a ``next_attempt_at`` and the beat task
  ``notification_retry_due`` tries again with back-off, then gives up after ``MAX_ATTEMPTS``.
- ``dedupe_key`` is unique in the database, so the same event can never notify twice, even
  when a task or a beat tick runs twice. One key per channel: ``<dedupe_key>:<channel>``.
- A user with ``daily_digest`` gets their e-mails held (status ``digest``) and receives one
  e-mail a day (``notification_digest_send``). Slack/Teams alerts are not held: a chat ping
  is the point of giving a webhook.
- Sending locks the row (``select_for_update(skip_locked=True)``), so two workers never
  send the same notification; a row already ``sent`` is left alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cxgov.mail import header_safe
from cxgov.relay import BatchRelay

from .models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
WEBHOOK_TIMEOUT_SECONDS = 10


class NotificationError(Exception):
    """An outbound channel refused or could not be reached."""


def _backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes, capped at 6 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


_held: contextvars.ContextVar[bool] = contextvars.ContextVar("cxgov_notifications_held", default=False)


@contextlib.contextmanager
def notifications_held() -> Iterator[None]:
    """Hold every e-mail created inside for the daily digest (bulk work such as demo seeding,
    where one e-mail per action would flood inboxes)."""
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)


def notification_create(
    *, user: Any, subject: str, body: str, url: str = "", dedupe_key: str, new_key: bool = False
) -> list[Notification]:
    """Record one notification per enabled channel of ``user`` and send them after commit.

    Idempotent by ``dedupe_key``: calling it again with the same key returns the existing
    rows and sends nothing new. Returns the rows (new or existing), possibly empty when the
    user has no channel enabled.

    ``new_key``: the key names something the caller created in this same transaction (e.g.
    ``action-created:<new action id>``), so no row can have it yet: the rows are inserted in
    one statement, without looking them up first or a savepoint per channel. The unique
    index still refuses a duplicate.
    """
    subject = header_safe(subject)
    if new_key:
        return notification_bulk_create(
            rows=notification_rows(user=user, subject=subject, body=body, url=url, dedupe_key=dedupe_key)
        )
    subject = header_safe(subject)
    channels = _channels(user)
    rows: list[Notification] = []
    to_send: list[int] = []
    with transaction.atomic():
        for channel in channels:
            held = channel == Notification.Channel.EMAIL and (
                getattr(user, "daily_digest", False) or _held.get()
            )
            notification, created = Notification.objects.get_or_create(
                dedupe_key=f"{dedupe_key}:{channel}"[:255],
                defaults={
                    "user": user,
                    "channel": channel,
                    "subject": subject[:255],
                    "body": body,
                    "url": url[:500],
                    "status": Notification.Status.DIGEST if held else Notification.Status.PENDING,
                },
            )
            rows.append(notification)
            if created and not held:
                to_send.append(notification.id)
        if to_send:
            transaction.on_commit(lambda: notification_dispatch(notification_ids=to_send))
    return rows


def _channels(user: Any) -> list[str]:
    channels: list[str] = []
    if getattr(user, "notify_by_email", False) and user.email:
        channels.append(Notification.Channel.EMAIL)
    if getattr(user, "slack_webhook_url", ""):
        channels.append(Notification.Channel.SLACK)
    return channels


def notification_rows(
    *, user: Any, subject: str, body: str, url: str = "", dedupe_key: str, bulk: bool = False
) -> list[Notification]:
    """The unsaved rows ``notification_create`` would write for a new key (one per channel).

    ``bulk``: the notification comes from bulk work (a CSV import): every channel's row is held,
    and ``notification_import_digest_send`` sends the owner one digest for all of them."""
    rows: list[Notification] = []
    for channel in _channels(user):
        held = bulk or (
            channel == Notification.Channel.EMAIL and (getattr(user, "daily_digest", False) or _held.get())
        )
        rows.append(
            Notification(
                dedupe_key=f"{dedupe_key}:{channel}"[:255],
                user=user,
                channel=channel,
                subject=header_safe(subject),
                body=body,
                url=url[:500],
                status=Notification.Status.DIGEST if held else Notification.Status.PENDING,
            )
        )
    return rows


def notification_bulk_create(*, rows: list[Notification]) -> list[Notification]:
    """Insert rows whose keys name things created in this same transaction (so none can exist
    yet: no look-up, no savepoint; the unique index still refuses a duplicate), in one
    statement, and send the pending ones after commit."""
    if not rows:
        return rows
    rows = Notification.objects.bulk_create(rows)
    to_send = [n.id for n in rows if n.status == Notification.Status.PENDING]
    if to_send:
        transaction.on_commit(lambda: notification_dispatch(notification_ids=to_send))
    return rows


# --- dispatch after commit -------------------------------------------------------------------


def notification_dispatch(*, notification_ids: Iterable[int]) -> None:
    """Hand notifications to Celery without touching the broker in the caller's thread.

    Eager (embedded default, tests): send inline, swallowing errors (the row records them).
    Real mode: a daemon thread publishes the tasks, so a Redis outage never hangs a request;
    anything it cannot publish stays ``pending`` and the retry beat picks it up.
    """
    ids = list(notification_ids)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        for notification_id in ids:
            try:
                notification_send(notification_id=notification_id)
            except Exception:
                log.exception("notification send failed", extra={"notification_id": notification_id})
        return
    _relay.put(ids)


RELAY_BATCH = 100


def _publish(notification_ids: list[int]) -> None:
    """Under load (a pipeline batch creates one notification per action) one message carries
    many ids, so the worker pays Celery's per-task cost once for them, not once per notification."""
    from .tasks import notification_send_many_task

    notification_send_many_task.apply_async(args=[notification_ids], retry=False)


_relay = BatchRelay(
    label="notification relay", publish=_publish, batch_size=RELAY_BATCH, ids_key="notification_ids"
)


# --- sending -----------------------------------------------------------------------------------


def _email_send(*, notification: Notification, connection: Any = None) -> None:
    text = notification.body
    if notification.url:
        text = f"{text}\n\n{_absolute(notification.url)}"
    message = EmailMessage(
        subject=header_safe(notification.subject),  # rows written before subjects were cleaned
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.user.email],
        connection=connection,
    )
    try:
        sent = message.send(fail_silently=False)
    except Exception as exc:
        raise NotificationError(f"e-mail: {exc.__class__.__name__}: {exc}") from exc
    if not sent:
        raise NotificationError("e-mail: the backend sent nothing")


def _absolute(url: str) -> str:
    base = getattr(settings, "CXGOV_BASE_URL", "")
    return f"{base.rstrip('/')}{url}" if base and url.startswith("/") else url


def webhook_send(*, webhook_url: str, title: str, text: str) -> None:
    """Post to a Slack/Teams incoming webhook (or any apprise URL).

    apprise knows Slack's ``https://hooks.slack.com/...`` and its own schemes (``slack://``,
    ``msteams://``, ``json://`` ...). Any other ``http(s)`` URL (Teams workflows, a Slack-
    compatible relay) gets the incoming-webhook JSON both Slack and Teams accept:
    ``{"text": ...}``.
    """
    import apprise

    notifier = apprise.Apprise()
    if notifier.add(webhook_url):
        if not notifier.notify(title=title, body=text):
            raise NotificationError("webhook: apprise could not deliver")
        return
    if not webhook_url.startswith(("http://", "https://")):
        raise NotificationError("webhook: unsupported URL")
    try:
        reply = requests.post(
            webhook_url, json={"text": f"*{title}*\n{text}"}, timeout=WEBHOOK_TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        raise NotificationError(f"webhook: {exc.__class__.__name__}") from exc
    if reply.status_code >= 300:
        raise NotificationError(f"webhook: HTTP {reply.status_code}")


def _slack_send(*, notification: Notification) -> None:
    text = notification.body
    if notification.url:
        text = f"{text}\n{_absolute(notification.url)}"
    webhook_send(
        webhook_url=notification.user.slack_webhook_url, title=header_safe(notification.subject), text=text
    )


SENDERS = {Notification.Channel.EMAIL: _email_send, Notification.Channel.SLACK: _slack_send}


def _sendable_locked() -> Any:
    """Rows still to send (pending, or failed and due again), locked, skipping any another
    worker is sending, with their user."""
    return (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user")
        .filter(status__in=[Notification.Status.PENDING, Notification.Status.FAILED])
    )


def _notification_locked_query(notification_id: int) -> Any:
    return _sendable_locked().filter(id=notification_id)


def _outcome_record(notification: Notification, *, error: NotificationError | None, now: datetime) -> None:
    """Set what one attempt at sending ``notification`` came to (the caller saves it)."""
    notification.attempts += 1
    if error is None:
        notification.status = Notification.Status.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.last_error = ""
        return
    notification.last_error = str(error)[:2000]
    if notification.attempts >= MAX_ATTEMPTS:
        notification.status = Notification.Status.GAVE_UP
        notification.next_attempt_at = None
    else:
        notification.status = Notification.Status.FAILED
        notification.next_attempt_at = now + _backoff(notification.attempts)
    log.warning(
        "notification failed", extra={"notification_id": notification.id, "attempts": notification.attempts}
    )


OUTCOME_FIELDS = ["attempts", "status", "last_error", "sent_at", "next_attempt_at"]


def notification_send(*, notification_id: int, now: datetime | None = None) -> str | None:
    """Send one notification if it still needs sending; record the outcome. Returns the status.

    The row stays locked while sending, so a concurrent worker skips it rather than sending
    it twice. Failures are recorded, never raised: the caller is a pipeline or a beat tick.
    """
    now = now or timezone.now()
    with transaction.atomic():
        notification = _notification_locked_query(notification_id).first()
        if notification is None:  # sent already, held for the digest, gone, or being sent
            return None
        try:
            SENDERS[notification.channel](notification=notification)
        except NotificationError as exc:
            _outcome_record(notification, error=exc, now=now)
        else:
            _outcome_record(notification, error=None, now=now)
        notification.save(update_fields=OUTCOME_FIELDS)
        return notification.status


def notification_send_many(*, notification_ids: Iterable[int], now: datetime | None = None) -> int:
    """``notification_send`` for many ids (what one relay message carries). Returns how many
    were sent.

    Under load a pipeline batch creates one e-mail per new action, and a transaction plus a
    mail connection per e-mail was most of a worker's time at 100 webhooks/s. So the e-mails
    go together: one locked read, one connection to the mail server, one ``UPDATE`` for those
    sent; a refused one records its own failure and the others still go. A crash before the
    commit leaves them all pending for the retry beat (at least once, as before). Slack/Teams
    alerts keep a transaction each: a webhook slow to answer (up to its timeout) must not hold
    every e-mail's row lock meanwhile.
    """
    from django.core.mail import get_connection

    ids = sorted(set(notification_ids))
    now = now or timezone.now()
    email = Notification.Channel.EMAIL
    sent = 0
    with transaction.atomic():
        rows = list(_sendable_locked().filter(id__in=ids, channel=email).order_by("id"))
        delivered: list[Notification] = []
        mail = get_connection(fail_silently=False)
        try:
            if rows:
                mail.open()
        except Exception as exc:  # the mail server is down: each row records it and backs off
            refused = NotificationError(f"e-mail: {exc.__class__.__name__}: {exc}")
            for notification in rows:
                _outcome_record(notification, error=refused, now=now)
                notification.save(update_fields=OUTCOME_FIELDS)
            rows_to_send: list[Notification] = []
        else:
            rows_to_send = rows
        for notification in rows_to_send:
            try:
                _email_send(notification=notification, connection=mail)
            except NotificationError as exc:
                _outcome_record(notification, error=exc, now=now)
                notification.save(update_fields=OUTCOME_FIELDS)
            else:
                delivered.append(notification)
        with contextlib.suppress(Exception):  # sent is sent: a failing QUIT changes nothing
            mail.close()
        if delivered:
            Notification.objects.filter(id__in=[n.id for n in delivered]).update(
                status=Notification.Status.SENT,
                sent_at=now,
                next_attempt_at=None,
                last_error="",
                attempts=F("attempts") + 1,
            )
            sent = len(delivered)
    handled = {n.id for n in rows}
    for notification_id in ids:
        if notification_id not in handled:  # other channels, or sent/held/locked: it decides
            sent += notification_send(notification_id=notification_id, now=now) == Notification.Status.SENT
    return sent


def notification_retry_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat: send pending rows left behind and failed rows whose back-off has passed.

    Pending rows get a grace minute so the after-commit dispatch goes first. Safe to tick
    twice: a row sent by the first tick is no longer pending/failed. Returns how many tried.
    """
    now = now or timezone.now()
    grace = now - timedelta(minutes=1)
    due = list(
        Notification.objects.filter(status=Notification.Status.FAILED, next_attempt_at__lte=now).values_list(
            "id", flat=True
        )[:limit]
    ) + list(
        Notification.objects.filter(status=Notification.Status.PENDING, created_at__lte=grace).values_list(
            "id", flat=True
        )[:limit]
    )
    for notification_id in due:
        notification_send(notification_id=notification_id, now=now)
    return len(due)


def notification_digest_send(*, now: datetime | None = None) -> int:
    """Beat (daily): one e-mail per user with held notifications. Returns digests created.

    The digest itself is a notification keyed ``digest:<user>:<date>``, and the held rows
    move to ``sent`` in the same transaction, so a second tick the same day sends nothing.
    """
    from django.contrib.auth import get_user_model

    now = now or timezone.now()
    day = timezone.localdate(now)
    user_ids = (
        Notification.objects.filter(status=Notification.Status.DIGEST)
        .values_list("user_id", flat=True)
        .distinct()
    )
    created_ids: list[int] = []
    for user in get_user_model().objects.filter(id__in=list(user_ids)):
        with transaction.atomic():
            held = list(
                Notification.objects.select_for_update()
                .filter(user=user, status=Notification.Status.DIGEST)
                .order_by("created_at", "id")
            )
            if not held:
                continue
            lines = []
            for item in held:
                link = f" {_absolute(item.url)}" if item.url else ""
                lines.append(f"- {item.subject}{link}")
            digest, created = Notification.objects.get_or_create(
                dedupe_key=f"digest:{user.id}:{day.isoformat()}",
                defaults={
                    "user": user,
                    "channel": Notification.Channel.EMAIL,
                    "subject": f"Your cxgov digest for {day:%d %b %Y}: {len(held)} update(s)",
                    "body": "\n".join(lines),
                },
            )
            if not created:
                continue  # today's digest went already; these wait for tomorrow's
            Notification.objects.filter(id__in=[h.id for h in held]).update(
                status=Notification.Status.SENT, sent_at=now, next_attempt_at=None
            )
            created_ids.append(digest.id)
    if created_ids:
        transaction.on_commit(lambda: notification_dispatch(notification_ids=created_ids))
    return len(created_ids)


#: Dedupe-key prefix of the "new action" notifications of imported responses (held for a digest).
IMPORTED_ACTION_KEY = "action-imported:"
IMPORT_DIGEST_LIST = 25  # titles listed in an import digest; the rest are counted


def notification_import_digest_send(
    *,
    now: datetime | None = None,
    quiet: timedelta = timedelta(minutes=2),
    longest: timedelta = timedelta(hours=1),
) -> int:
    """Beat: one notification per owner for the new actions of a CSV import, instead of one
    e-mail each (a 100k-row file made 33k e-mails for one owner). Returns digests created.

    An owner's held rows go together once the import has been quiet for ``quiet`` (no new
    action for them), or after ``longest`` at most, so a long import sends one digest an hour.
    Owners who chose the daily digest get them there instead. The digest is keyed by the last
    row it covers and the held rows turn ``sent`` in the same transaction: a second tick sends
    nothing twice."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min

    now = now or timezone.now()
    held = Notification.objects.filter(
        status=Notification.Status.DIGEST, dedupe_key__startswith=IMPORTED_ACTION_KEY
    )
    per_user = held.values("user_id").annotate(newest=Max("created_at"), oldest=Min("created_at"))
    due = [r["user_id"] for r in per_user if r["newest"] <= now - quiet or r["oldest"] <= now - longest]
    created = 0
    for user in get_user_model().objects.filter(id__in=due, daily_digest=False):
        with transaction.atomic():
            rows = list(held.select_for_update().filter(user=user).order_by("id"))
            if not rows:
                continue
            actions = {r.dedupe_key.rsplit(":", 1)[0]: r for r in rows}  # one per action, any channel
            listed = [f"- {r.subject}" for r in list(actions.values())[:IMPORT_DIGEST_LIST]]
            more = len(actions) - len(listed)
            if more > 0:
                listed.append(f"… and {more} more.")
            url = ""
            with contextlib.suppress(Exception):
                from django.urls import reverse

                url = reverse("feedback:my-actions")
            notification_create(
                user=user,
                subject=f"{len(actions)} new action(s) for you from an import",
                body="An import created these actions for you:\n\n" + "\n".join(listed),
                url=url,
                dedupe_key=f"import-digest:{user.id}:{rows[-1].id}",
            )
            Notification.objects.filter(id__in=[r.id for r in rows]).update(
                status=Notification.Status.SENT, sent_at=now, next_attempt_at=None
            )
            created += 1
    return created


def action_url(action_id: int) -> str:
    """The action's page, once the triage screens define it (blank until then)."""
    from django.urls import NoReverseMatch, reverse

    for name in ("feedback:action-detail", "feedback:action-item-detail"):
        try:
            return reverse(name, kwargs={"pk": action_id})
        except NoReverseMatch:
            continue
    return ""
