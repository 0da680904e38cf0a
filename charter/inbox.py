"""The in-app inbox: what waits for a person (approvals, returned drafts, assigned actions).

Every app may call ``inbox_notify`` (charter is the leftmost app). Why it is built this way:
- One transaction: the items are written in the caller's transaction, so a rolled-back
  approval leaves no "awaits your approval" behind.
- The bell's count is ``User.inbox_unread``, a counter kept here (incremented on notify,
  recounted on read). Every page shows the bell; reading the count from the user row the
  request loaded anyway costs no query, so no page's pinned query count moves.
- E-mail for the same item, when the person wants it (``User.inbox_email``) and has an
  address. The item is the e-mail's outbox: ``pending`` until sent. After commit, eager mode
  (embedded default, tests) sends inline; otherwise a daemon thread hands the ids to Celery,
  so a broker outage never hangs a request, and the beat (``inbox_email_retry_task``)
  sends whatever is still pending or failed, with back-off, up to ``MAX_ATTEMPTS``.
- Subjects are header-safe: CR/LF and other control characters are dropped, whatever text
  a caller passes (a title typed by a user ends up in a mail header).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from cxgov.mail import header_safe
from cxgov.relay import BatchRelay

from .models import InboxItem, User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
SUBJECT_PREFIX = "[cxgov] "


@transaction.atomic
def inbox_notify(
    *,
    users: Iterable[User],
    kind: str,
    text: str,
    url: str,
    body: str = "",
    dedupe_key: str = "",
    exclude: User | None = None,
    coalesce: str = "",
    coalesce_url: str = "",
) -> None:
    """Put one item in each person's inbox and e-mail it to those who want e-mail.

    ``dedupe_key``: when set, a person who already has an item with that key gets no second
    one (the same approval request announced twice). ``exclude``: the person who caused it
    (no one needs telling what they just did themselves). Inactive users are skipped.
    ``coalesce``: a text with ``{n}`` ("{n} actions assigned to you"): a person who still has
    an unread item of the same ``kind`` gets that item counted up and re-worded (and moved to
    the top, linking to ``coalesce_url`` when given) instead of a second item and e-mail.
    """
    people = {u.pk: u for u in users if u is not None and u.is_active}
    if exclude is not None:
        people.pop(exclude.pk, None)
    if dedupe_key and people:
        already = InboxItem.objects.filter(user_id__in=people, dedupe_key=dedupe_key)
        for user_id in already.values_list("user_id", flat=True):
            people.pop(user_id, None)
    if not people:
        return
    text = header_safe(text, limit=300)
    now = timezone.now()
    if coalesce and people:
        open_items = (
            InboxItem.objects.select_for_update()
            .filter(user_id__in=people, kind=kind[:40], read_at__isnull=True)
            .order_by("user_id", "-created_at")
        )
        for item in open_items:
            if item.user_id not in people:
                continue  # an older unread item of the same person: the newest one counts
            people.pop(item.user_id)
            item.count += 1
            item.text = header_safe(coalesce.format(n=item.count), limit=300)
            item.url = (coalesce_url or item.url)[:500]
            item.created_at = now
            item.save(update_fields=["count", "text", "url", "created_at"])
        if not people:
            return
    rows = [
        InboxItem(
            user=user,
            kind=kind[:40],
            text=text,
            url=url[:500],
            body=body,
            dedupe_key=dedupe_key[:200],
            created_at=now,
            email_status=InboxItem.EmailStatus.PENDING
            if user.inbox_email and user.email
            else InboxItem.EmailStatus.NONE,
        )
        for user in people.values()
    ]
    created = InboxItem.objects.bulk_create(rows)
    User.objects.filter(pk__in=people).update(inbox_unread=F("inbox_unread") + 1)
    for user in people.values():  # the caller's objects show the new count too
        user.inbox_unread = (user.inbox_unread or 0) + 1
    to_send = [item.pk for item in created if item.email_status == InboxItem.EmailStatus.PENDING]
    if to_send:
        transaction.on_commit(lambda: inbox_email_dispatch(item_ids=to_send))


# --- reading ------------------------------------------------------------------------------------


def inbox_items(*, user: User, unread_only: bool = False) -> QuerySet[InboxItem]:
    qs = InboxItem.objects.filter(user=user).order_by("-created_at", "-id")
    return qs.filter(read_at__isnull=True) if unread_only else qs


def inbox_unread_count(*, user: User) -> int:
    """What the bell shows: the counter on the user row (no query)."""
    return int(getattr(user, "inbox_unread", 0) or 0)


def inbox_counts(*, user: User) -> dict[str, int]:
    return InboxItem.objects.filter(user=user).aggregate(
        total=Count("id"), unread=Count("id", filter=Q(read_at__isnull=True))
    )


# --- marking read -------------------------------------------------------------------------------


def _recount(user: User) -> None:
    unread = InboxItem.objects.filter(user=user, read_at__isnull=True).count()
    User.objects.filter(pk=user.pk).update(inbox_unread=unread)
    user.inbox_unread = unread


@transaction.atomic
def inbox_mark_read(*, user: User, item_ids: Iterable[int] | None = None) -> int:
    """Mark the given items (or all, with ``None``) read; only the user's own items. Returns how many."""
    qs = InboxItem.objects.filter(user=user, read_at__isnull=True)
    if item_ids is not None:
        qs = qs.filter(pk__in=list(item_ids))
    marked = qs.update(read_at=timezone.now())
    _recount(user)
    return marked


@transaction.atomic
def inbox_resolve(*, dedupe_key: str) -> int:
    """Mark everyone's items with ``dedupe_key`` read: the thing they announced is dealt with
    (one executive approved the version the others were asked to approve)."""
    if not dedupe_key:
        return 0
    qs = InboxItem.objects.filter(dedupe_key=dedupe_key, read_at__isnull=True)
    user_ids = list(qs.values_list("user_id", flat=True))
    marked = qs.update(read_at=timezone.now())
    for user in User.objects.filter(pk__in=user_ids):
        _recount(user)
    return marked


@transaction.atomic
def inbox_preference_set(*, user: User, inbox_email: bool) -> User:
    user.inbox_email = inbox_email
    user.save(update_fields=["inbox_email"])
    return user


# --- e-mail -------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 240))


def _absolute(url: str) -> str:
    base = getattr(settings, "CXGOV_BASE_URL", "") or ""
    return f"{base.rstrip('/')}{url}" if base and url.startswith("/") else url


def inbox_email_send(*, item_id: int, now: datetime | None = None) -> str | None:
    """Send one item's e-mail if it is still due; returns the new status (None: nothing to do).

    The row is locked (skip locked) so two workers never send the same e-mail twice."""
    now = now or timezone.now()
    with transaction.atomic():
        item = (
            InboxItem.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(
                pk=item_id, email_status__in=[InboxItem.EmailStatus.PENDING, InboxItem.EmailStatus.FAILED]
            )
            .first()
        )
        if item is None:
            return None
        user = item.user
        if not (user.inbox_email and user.email and user.is_active):  # changed their mind since
            item.email_status, item.email_error = InboxItem.EmailStatus.NONE, "e-mail turned off"
            item.save(update_fields=["email_status", "email_error"])
            return item.email_status
        lines = [item.text]
        if item.body:
            lines += ["", item.body]
        if item.url:
            lines += ["", _absolute(item.url)]
        lines += [
            "",
            "You get this because e-mail for your cxgov inbox is on; turn it off on the inbox page.",
        ]
        message = EmailMessage(
            subject=header_safe(SUBJECT_PREFIX + item.text, limit=200),
            body="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        )
        item.email_attempts += 1
        try:
            if not message.send(fail_silently=False):
                raise RuntimeError("the backend sent nothing")
        except Exception as exc:
            item.email_status = InboxItem.EmailStatus.FAILED
            item.email_error = f"{exc.__class__.__name__}: {exc}"[:300]
            log.warning("inbox e-mail failed", extra={"inbox_item_id": item.pk, "error": item.email_error})
        else:
            item.email_status, item.email_error, item.emailed_at = InboxItem.EmailStatus.SENT, "", now
        item.save(update_fields=["email_status", "email_error", "email_attempts", "emailed_at"])
        return item.email_status


def inbox_email_send_many(*, item_ids: Iterable[int]) -> int:
    return sum(1 for pk in item_ids if inbox_email_send(item_id=pk) == InboxItem.EmailStatus.SENT)


def inbox_email_retry_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat: send what is still pending (its publish was lost) or failed and past its back-off."""
    now = now or timezone.now()
    due = []
    candidates = InboxItem.objects.filter(
        email_status__in=[InboxItem.EmailStatus.PENDING, InboxItem.EmailStatus.FAILED],
        email_attempts__lt=MAX_ATTEMPTS,
        created_at__lte=now - timedelta(minutes=1),
    ).order_by("created_at")[:limit]
    for pk, attempts, created in candidates.values_list("pk", "email_attempts", "created_at"):
        if attempts == 0 or created + _backoff(attempts) <= now:
            due.append(pk)
    return inbox_email_send_many(item_ids=due)


def inbox_email_dispatch(*, item_ids: list[int]) -> None:
    """After commit: eager mode sends inline; real mode hands the ids to the relay thread, so
    a request never waits on the broker (left pending if it cannot publish: the retry beat
    sends it)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            inbox_email_send_many(item_ids=item_ids)
        except Exception:  # the rows record the failure; the retry beat tries again
            log.exception("inbox e-mail send failed", extra={"inbox_item_ids": item_ids})
        return
    _relay.put(item_ids)


def _publish(item_ids: list[int]) -> None:
    from .tasks import inbox_email_send_task

    inbox_email_send_task.apply_async(args=[item_ids], retry=False)


_relay = BatchRelay(label="inbox mail relay", publish=_publish, batch_size=100, ids_key="inbox_item_ids")
