"""User-driven services on existing action items: the work an ambassador or owner does.

Why it is built this way:
- Every service locks the row (``select_for_update``), checks ``expected_version`` against the
  stored ``version`` and bumps it. Two ambassadors editing the same action therefore never
  overwrite each other silently: the second gets ``ActionConflict`` (a ``ValidationError``)
  with a message that says what happened.
- Every change is saved through the model, so django-simple-history records who did it
  (``_history_user``) and why (``_change_reason``). That history *is* the audit timeline.
- The loop state machine lives here and only here. Invalid moves and missing fields raise
  ``ValidationError`` with field-level messages, so views and the API answer 400, never 500.
- Comments are appended, not edits: they do not bump ``version`` (a colleague's open form
  stays valid), and they show up in the timeline from their own rows.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from charter.inbox import inbox_notify
from charter.models import User
from missions.models import SuccessMeasure

from .models import (
    ActionComment,
    ActionItem,
    ActionReopening,
    ContactLog,
    Loop,
    Priority,
    ResolutionOutcome,
)
from .notifications import notification_create

S = ActionItem.Status

# Where each status may go next (``action_item_transition``). Verified / not moved are set by
# the verification job, never by hand. New/assigned reach "contacted" only by logging a
# contact (``action_item_contact_log``), so the first-contact time is always real.
INNER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ASSIGNED, S.UNREACHABLE, S.NO_ACTION}),
    S.ASSIGNED: frozenset({S.UNREACHABLE, S.NO_ACTION}),
    S.CONTACTED: frozenset({S.WAITING, S.RESOLVED, S.UNREACHABLE, S.NO_ACTION}),
    S.WAITING: frozenset({S.CONTACTED, S.RESOLVED, S.UNREACHABLE, S.NO_ACTION}),
}
OUTER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ASSIGNED, S.INVESTIGATING, S.FIXED, S.NO_ACTION}),
    S.ASSIGNED: frozenset({S.INVESTIGATING, S.FIXED, S.NO_ACTION}),
    S.INVESTIGATING: frozenset({S.FIXED, S.NO_ACTION}),
}
REASON_REQUIRED = frozenset({S.UNREACHABLE, S.NO_ACTION})
CLOSE_STATUSES = frozenset({S.RESOLVED, S.UNREACHABLE, S.NO_ACTION, S.FIXED})

MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]+)")


class ActionConflict(ValidationError):
    """Someone else changed the action since the form was loaded."""

    def __init__(self, *, action: ActionItem, expected: int) -> None:
        who = ""
        last = action.history.select_related("history_user").order_by("-history_date", "-history_id").first()
        if last is not None and last.history_user is not None:
            who = f" by {last.history_user}"
        super().__init__(
            f"This action was changed{who} while you were editing it (you had version {expected}, "
            f"it is now version {action.version}). Reload it, check the change, and try again.",
            code="conflict",
        )
        self.current_version = action.version


def allowed_transitions(action: ActionItem) -> frozenset[str]:
    """The statuses a person may move ``action`` to from where it is now."""
    table = INNER_TRANSITIONS if action.loop == Loop.INNER else OUTER_TRANSITIONS
    return table.get(action.status, frozenset())


def _lock(action: ActionItem | int, expected_version: int | None) -> ActionItem:
    pk = action if isinstance(action, int) else action.pk
    locked = ActionItem.objects.select_for_update().get(pk=pk)
    if expected_version is not None and int(expected_version) != locked.version:
        raise ActionConflict(action=locked, expected=int(expected_version))
    return locked


def _save(action: ActionItem, *, by: User | None, reason: str) -> ActionItem:
    """Bump the version, validate, save: one history record with who and why."""
    action.version += 1
    action.full_clean()
    action._history_user = by  # type: ignore[attr-defined]
    action._change_reason = reason[:100]  # type: ignore[attr-defined]
    action.save()
    return action


def _require_open(action: ActionItem, field_name: str = "__all__") -> None:
    if not action.is_open:
        raise ValidationError(
            {field_name: f"This action is closed ({action.get_status_display()}); nothing more to change."}
        )


@transaction.atomic
def action_item_assign(
    *, action: ActionItem, owner: User, by: User, expected_version: int | None = None
) -> ActionItem:
    """Give the action an owner. Every insight has exactly one owner; a new one becomes assigned."""
    action = _lock(action, expected_version)
    _require_open(action, "owner")
    if not owner.is_active:
        raise ValidationError({"owner": f"{owner} is no longer active; choose someone else."})
    if owner.pk == action.owner_id and action.status != S.NEW:
        raise ValidationError({"owner": f"{owner} already owns this action."})
    action.owner = owner
    if action.status == S.NEW:
        action.status = S.ASSIGNED
    inbox_notify(
        users=[owner],
        kind="actions-assigned",
        text=f"Action assigned to you: {action.title}",
        url=reverse("feedback:action-detail", kwargs={"pk": action.pk}),
        exclude=by,
        coalesce="{n} actions assigned to you",
        coalesce_url=reverse("feedback:my-actions"),
    )
    return _save(action, by=by, reason=f"Assigned to {owner}")


@transaction.atomic
def action_item_set_priority(
    *, action: ActionItem, priority: str, by: User, expected_version: int | None = None
) -> ActionItem:
    """Change the priority (it orders the inbox; SLA due dates stay as promised)."""
    action = _lock(action, expected_version)
    if priority not in Priority.values:
        raise ValidationError({"priority": f"Choose one of: {', '.join(Priority.labels)}."})
    _require_open(action, "priority")
    if action.priority == priority:
        raise ValidationError({"priority": f"The priority is already {Priority(priority).label}."})
    action.priority = priority
    return _save(action, by=by, reason=f"Priority set to {Priority(priority).label}")


def _as_datetime(until: date | datetime | None) -> datetime | None:
    if until is None or isinstance(until, datetime):
        return until
    return timezone.make_aware(datetime(until.year, until.month, until.day, 9, 0))


@transaction.atomic
def action_item_snooze(
    *,
    action: ActionItem,
    until: date | datetime | None,
    by: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Hide the action from the inbox until a date (``None`` wakes it). The due date stands."""
    action = _lock(action, expected_version)
    _require_open(action, "until")
    moment = _as_datetime(until)
    if moment is None and action.snoozed_until is None:
        raise ValidationError({"until": "Choose the date to snooze until."})
    if moment is not None and moment <= (now or timezone.now()):
        raise ValidationError({"until": "Snooze until a moment in the future."})
    action.snoozed_until = moment
    reason = f"Snoozed until {moment:%d %b %Y}" if moment else "Woken up"
    return _save(action, by=by, reason=reason)


@transaction.atomic
def action_item_contact_log(
    *,
    action: ActionItem,
    channel: str,
    outcome: str,
    note: str = "",
    by: User,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ContactLog:
    """Record a contact with the customer.

    An attempt (no answer, a voicemail, an e-mail with no reply yet) is recorded and nothing
    else: the first-contact SLA keeps running, because the customer has not been heard yet.
    The first real conversation stops that clock (``first_contacted_at``) and moves a new or
    assigned action to contacted."""
    action = _lock(action, expected_version)
    if action.loop != Loop.INNER:
        raise ValidationError({"channel": "Contacts are logged on inner-loop actions (one customer)."})
    _require_open(action, "channel")
    contact = ContactLog(action=action, channel=channel, outcome=outcome, note=note.strip(), by=by)
    if at is not None:
        contact.at = at
    contact.full_clean(exclude=["action", "by"])
    contact.save()
    if contact.is_attempt:
        _save(action, by=by, reason=f"Contact attempt: {contact.get_channel_display()}")
        return contact
    if action.first_contacted_at is None or contact.at < action.first_contacted_at:
        action.first_contacted_at = contact.at
    if action.status in (S.NEW, S.ASSIGNED):
        action.status = S.CONTACTED
    _save(action, by=by, reason=f"Contact: {contact.get_channel_display()}, {contact.get_outcome_display()}")
    return contact


@transaction.atomic
def action_item_transition(
    *,
    action: ActionItem,
    to_status: str,
    by: User,
    reason: str = "",
    root_cause: str = "",
    fix: str = "",
    success_measure: SuccessMeasure | None = None,
    verification_date: date | None = None,
    customer_told: bool | None = None,
    outcome: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Move the action through its loop.

    Inner loop: new → assigned → contacted → (waiting) → resolved, or closed as unreachable /
    no action with a reason. Resolving needs the outcome (``ResolutionOutcome``) and whether
    the customer was told it (yes or no, said out loud: an unticked box is not a "no").
    Outer loop: new/assigned → investigating → fixed, where fixing needs the root cause, the
    fix, the success measure that should move and the date to verify it. Missing pieces come
    back as field errors, all at once.
    """
    now = now or timezone.now()
    action = _lock(action, expected_version)
    if to_status not in S.values:
        raise ValidationError({"to_status": "Unknown status."})
    allowed = allowed_transitions(action)
    if to_status not in allowed:
        label = S(to_status).label
        if not allowed:
            msg = f"This action is {action.get_status_display().lower()}; it cannot move to “{label}”."
        else:
            options = ", ".join(S(s).label for s in sorted(allowed))
            msg = f"From “{action.get_status_display()}” it can go to: {options} — not “{label}”."
        raise ValidationError({"to_status": msg})
    errors: dict[str, str] = {}
    reason, root_cause, fix = reason.strip(), root_cause.strip(), fix.strip()
    if to_status in REASON_REQUIRED and not reason:
        errors["reason"] = "Say why the action closes without resolving (e.g. three calls, no answer)."
    if action.loop == Loop.INNER and to_status == S.RESOLVED:
        if outcome not in ResolutionOutcome.values:
            errors["outcome"] = "Say what resolving achieved for the customer."
        if customer_told is None:
            errors["customer_told"] = "Say whether the customer was told the outcome."
    if action.loop == Loop.OUTER and to_status == S.FIXED:
        if not root_cause:
            errors["root_cause"] = "Record the root cause the insights point to."
        if not fix:
            errors["fix"] = "Describe the fix that was made."
        if success_measure is None:
            errors["success_measure"] = "Link the success measure the fix should move."
        if verification_date is None:
            errors["verification_date"] = "Set the date to verify that the measure moved."
        elif verification_date <= timezone.localdate(now):
            errors["verification_date"] = "The verification date must be in the future."
    if errors:
        raise ValidationError(errors)
    action.status = to_status
    if reason:
        action.close_reason = reason
    if action.loop == Loop.OUTER and to_status == S.FIXED:
        action.root_cause, action.fix = root_cause, fix
        action.success_measure = success_measure
        action.verification_date = verification_date
    if to_status in CLOSE_STATUSES:
        action.closed_at = now
        action.snoozed_until = None
    if action.loop == Loop.INNER and to_status == S.RESOLVED:
        action.resolution_outcome = outcome
        action.customer_told = customer_told
        if customer_told and action.customer_told_at is None:
            action.customer_told_at = now
    note = f"Status: {S(to_status).label}"
    if reason:
        note += f" — {reason}"
    return _save(action, by=by, reason=note)


def _mentioned_users(body: str) -> list[User]:
    names = {m.rstrip(".") for m in MENTION_RE.findall(body)}
    if not names:
        return []
    return list(User.objects.filter(username__in=names, is_active=True))


def _can_see(user: User, action: ActionItem) -> bool:
    from charter.selectors import department_ids_for

    if action.owner_id == user.pk:
        return True
    ids = department_ids_for(user=user)
    return ids is None or action.department_id in ids


@transaction.atomic
def action_item_comment(*, action: ActionItem, body: str, by: User) -> ActionComment:
    """Add a comment; @username mentions notify those people, if they may see the action
    (a mention never leaks an action to someone outside its department)."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something before posting."})
    comment = ActionComment(action=action, author=by, body=body)
    comment.full_clean(exclude=["action", "author"])
    comment.save()
    mentioned = [u for u in _mentioned_users(body) if u.pk != by.pk and _can_see(u, action)]
    if mentioned:
        comment.mentions.set(mentioned)
        url = reverse("feedback:action-detail", kwargs={"pk": action.pk})
        for user in mentioned:
            notification_create(
                user=user,
                subject=f"{by} mentioned you on “{action.title}”",
                body=body,
                url=url,
                dedupe_key=f"mention:{comment.pk}:{user.pk}",
            )
    return comment


REOPEN_TO_OUTER = S.INVESTIGATING


@transaction.atomic
def action_item_reopen(
    *,
    action: ActionItem,
    reason: str,
    by: User,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Open a closed action again, with a reason. Nothing is erased: the history keeps every
    closed field and an ``ActionReopening`` row keeps the reason and what it was closed as.

    An inner loop goes back to contacted when someone had spoken with the customer, else to
    assigned (its first-contact clock runs again); a systemic action goes back to
    investigating, unless another open systemic action on its theme exists already.
    """
    now = now or timezone.now()
    action = _lock(action, expected_version)
    reason = reason.strip()
    if action.is_open:
        raise ValidationError({"reason": "This action is open; only a closed action is reopened."})
    if not reason:
        raise ValidationError({"reason": "Say why the action is reopened."})
    if action.loop == Loop.OUTER:
        clash = (
            ActionItem.objects.filter(
                loop=Loop.OUTER,
                theme_id=action.theme_id,
                department_id=action.department_id,
                status__in=ActionItem.OPEN_STATUSES,
            )
            .exclude(pk=action.pk)
            .first()
        )
        if action.theme_id is not None and clash is not None:
            raise ValidationError(
                {"reason": f"“{clash.title}” (#{clash.pk}) is already open on this theme; work on that one."}
            )
    ActionReopening.objects.create(
        action=action,
        by=by,
        at=now,
        reason=reason,
        previous_status=action.status,
        previous_closed_at=action.closed_at,
        previous_close_reason=action.close_reason,
    )
    if action.loop == Loop.OUTER:
        action.status = REOPEN_TO_OUTER
        action.verification_result = {}
    else:
        action.status = S.CONTACTED if action.first_contacted_at else S.ASSIGNED
        action.resolution_outcome = ""
        action.customer_told = None
    action.closed_at = None
    action.close_reason = ""
    return _save(action, by=by, reason=f"Reopened: {reason}")


# --- bulk operations with undo -------------------------------------------------------------

UNDO_FIELDS = ("owner_id", "priority", "snoozed_until", "status", "close_reason", "closed_at")


@dataclass
class BulkResult:
    """What a bulk operation did, and what undoing it needs (JSON-serialisable ``undo``)."""

    operation: str
    count: int
    token: str
    undo: list[dict[str, Any]] = field(default_factory=list)

    def as_session(self) -> dict[str, Any]:
        return {"token": self.token, "operation": self.operation, "items": self.undo}


def _snapshot(action: ActionItem) -> dict[str, Any]:
    snap: dict[str, Any] = {"id": action.pk}
    for name in UNDO_FIELDS:
        value = getattr(action, name)
        snap[name] = value.isoformat() if isinstance(value, datetime) else value
    return snap


BULK_OPERATIONS: dict[str, Callable[..., Any]] = {
    "assign": lambda action, by, owner, **_: action_item_assign(action=action, owner=owner, by=by),
    "priority": lambda action, by, priority, **_: action_item_set_priority(
        action=action, priority=priority, by=by
    ),
    "snooze": lambda action, by, until, **_: action_item_snooze(action=action, until=until, by=by),
    "close": lambda action, by, to_status, reason, **_: action_item_transition(
        action=action, to_status=to_status, reason=reason, by=by
    ),
}


@transaction.atomic
def action_items_bulk(*, ids: Iterable[int], operation: str, by: User, **params: Any) -> BulkResult:
    """Apply one service to many actions in one transaction: all of them or none.

    Errors name the action they are about. The result carries each action's previous owner,
    priority, snooze and status plus its new version, so ``action_items_bulk_undo`` can put
    back exactly what this changed, and nothing someone changed afterwards.
    """
    if operation not in BULK_OPERATIONS:
        raise ValidationError({"operation": "Choose what to do with the selected actions."})
    pks = sorted(set(int(i) for i in ids))
    if not pks:
        raise ValidationError({"ids": "Select at least one action."})
    if operation == "close" and params.get("to_status") not in REASON_REQUIRED | {S.RESOLVED}:
        params["to_status"] = S.NO_ACTION
    run = BULK_OPERATIONS[operation]
    locked = {a.pk: a for a in ActionItem.objects.select_for_update().filter(pk__in=pks)}
    undo: list[dict[str, Any]] = []
    for pk in pks:
        action = locked[pk]
        before = _snapshot(action)
        try:
            changed = run(action, by, **params)
        except ValidationError as exc:
            messages = "; ".join(exc.messages)
            raise ValidationError({"ids": f"“{action.title}” (#{pk}): {messages}"}) from exc
        before["version_after"] = changed.version
        undo.append(before)
    return BulkResult(operation=operation, count=len(pks), token=secrets.token_urlsafe(12), undo=undo)


@dataclass
class UndoResult:
    restored: int
    skipped: list[int]


@transaction.atomic
def action_items_bulk_undo(*, undo: list[dict[str, Any]], by: User) -> UndoResult:
    """Put back what a bulk operation changed, item by item, unless someone has changed the
    item since (then it is skipped and named, never overwritten)."""
    restored, skipped = 0, []
    pks = [int(s["id"]) for s in undo]
    locked = {a.pk: a for a in ActionItem.objects.select_for_update().filter(pk__in=pks)}
    for snap in undo:
        action = locked.get(int(snap["id"]))
        if action is None or action.version != snap["version_after"]:
            skipped.append(int(snap["id"]))
            continue
        for name in UNDO_FIELDS:
            value = snap[name]
            if name in ("snoozed_until", "closed_at") and value:
                value = parse_datetime(value)
            setattr(action, name, value)
        _save(action, by=by, reason="Undo of a bulk change")
        restored += 1
    return UndoResult(restored=restored, skipped=skipped)
