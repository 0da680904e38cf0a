"""Lifecycle services for versioned governance documents (mission, success statement, charter).

Who may do what is the product's rule, checked here and nowhere else:
CX leaders create and edit drafts and submit them; executives approve (publish) or return
them with a comment. Any move the state machine does not allow (approving a draft, editing a
published version) raises ``ValidationError`` with a message saying why: views answer 409,
the API 409 too, never a 500.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django_fsm import can_proceed

from .inbox import inbox_notify, inbox_resolve
from .models import DocState, User, VersionedDocument
from .roles import Role


class TransitionError(ValidationError):
    """The requested move is not possible from the version's current state."""


TRANSITIONS = {
    "submit": ("Submit for review", DocState.DRAFT),
    "approve": ("Approve and publish", DocState.IN_REVIEW),
    "return": ("Return to draft", DocState.IN_REVIEW),
}


def _require_editor(user: User) -> None:
    if not (user.is_cx_leader or user.is_superuser):
        raise PermissionDenied("Only CX leaders create and edit drafts.")


def _require_approver(user: User) -> None:
    if not (user.is_executive or user.is_superuser):
        raise PermissionDenied("Only executives approve or return a version.")


def _refuse(doc: VersionedDocument, action: str) -> TransitionError:
    state = doc.get_state_display().lower()
    needed = {"submit": "a draft", "approve": "a version in review", "return": "a version in review",
              "edit": "a draft"}[action]  # fmt: skip
    verb = {"submit": "submitted", "approve": "approved", "return": "returned", "edit": "edited"}[action]
    return TransitionError(
        {"state": f"Only {needed} can be {verb}; version {doc.number} is {state}."}, code="invalid_transition"
    )


def _content(model: type[VersionedDocument], fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(model.CONTENT_FIELDS) - {"change_note"}
    if unknown:
        raise ValidationError({name: "This field cannot be set on a version." for name in sorted(unknown)})
    return fields


@transaction.atomic
def document_draft_create[D: VersionedDocument](
    *, model: type[D], by: User, fields: dict[str, Any] | None = None, prepare: Any = None
) -> D:
    """A new draft, pre-filled from the latest version so editing starts from the current text.

    One version is worked on at a time: while a draft or a version in review exists, a second
    draft would fork the text, so it is refused (finish, or return and edit, that one).
    """
    _require_editor(by)
    busy = model.objects.filter(state__in=[DocState.DRAFT, DocState.IN_REVIEW]).order_by("-number").first()
    if busy is not None:
        raise TransitionError(
            {"state": f"Version {busy.number} is already {busy.get_state_display().lower()}; continue it."},
            code="invalid_transition",
        )
    latest = model.objects.order_by("-number").first()
    initial = {name: getattr(latest, name) for name in model.CONTENT_FIELDS} if latest else {}
    initial.update(_content(model, fields or {}))
    number = (model.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    doc = model(number=number, created_by=by, state=DocState.DRAFT, **initial)
    if prepare:
        prepare(doc)
    doc.full_clean()
    try:
        with transaction.atomic():
            doc.save()
    except IntegrityError as exc:  # two drafts created at the same instant
        raise ValidationError({"number": "Another version was created at the same time; retry."}) from exc
    return doc


@transaction.atomic
def document_draft_update[D: VersionedDocument](*, doc: D, by: User, fields: dict[str, Any]) -> D:
    _require_editor(by)
    doc = type(doc).objects.select_for_update().get(pk=doc.pk)
    if doc.state != DocState.DRAFT:
        raise _refuse(doc, "edit")
    for name, value in _content(type(doc), fields).items():
        setattr(doc, name, value)
    doc.full_clean()
    doc.save()
    return doc


@transaction.atomic
def document_submit[D: VersionedDocument](*, doc: D, by: User, prepare: Any = None) -> D:
    _require_editor(by)
    doc = type(doc).objects.select_for_update().get(pk=doc.pk)
    if not can_proceed(doc.submit):
        raise _refuse(doc, "submit")
    missing = {
        name: f"Write the {doc._meta.get_field(name).verbose_name} before submitting."
        for name in doc.REQUIRED_TO_SUBMIT
        if not str(getattr(doc, name) or "").strip()
    }
    if missing:
        raise ValidationError(missing)
    if prepare:
        prepare(doc)
    doc.submit(by=by)
    doc.full_clean()
    doc.save()
    _announce_submit(doc, by)
    return doc


@transaction.atomic
def document_draft_submit[D: VersionedDocument](
    *, doc: D, by: User, fields: dict[str, Any], prepare: Any = None
) -> D:
    """Save the edits on the page, then submit: what goes to review is what the author sees."""
    doc = document_draft_update(doc=doc, by=by, fields=fields)
    return document_submit(doc=doc, by=by, prepare=prepare)


@transaction.atomic
def document_approve[D: VersionedDocument](*, doc: D, by: User) -> D:
    """Publish ``doc``; the version published until now becomes superseded (one published)."""
    _require_approver(by)
    model = type(doc)
    doc = model.objects.select_for_update().get(pk=doc.pk)
    if not can_proceed(doc.approve):
        raise _refuse(doc, "approve")
    for current in model.objects.select_for_update().filter(state=DocState.PUBLISHED):
        current.supersede()
        current.save()
    key = _review_key(doc)
    doc.approve(by=by)
    doc.save()
    _announce_decision(doc, by, key, approved=True)
    return doc


@transaction.atomic
def document_return[D: VersionedDocument](*, doc: D, by: User, comment: str) -> D:
    _require_approver(by)
    doc = type(doc).objects.select_for_update().get(pk=doc.pk)
    if not can_proceed(doc.return_to_draft):
        raise _refuse(doc, "return")
    if not comment.strip():
        raise ValidationError({"comment": "Say what needs to change before returning a version."})
    key = _review_key(doc)
    doc.return_to_draft(by=by, comment=comment.strip())
    doc.save()
    _announce_decision(doc, by, key, approved=False)
    return doc


def document_transition[D: VersionedDocument](
    *, doc: D, by: User, action: str, comment: str = "", prepare: Any = None
) -> D:
    """Dispatch a named transition (what the browser and the API post)."""
    if action == "submit":
        return document_submit(doc=doc, by=by, prepare=prepare)
    if action == "approve":
        return document_approve(doc=doc, by=by)
    if action == "return":
        return document_return(doc=doc, by=by, comment=comment)
    raise ValidationError({"action": f"Unknown action {action!r}; use submit, approve or return."})


# --- telling people --------------------------------------------------------------------------


def _review_key(doc: VersionedDocument) -> str:
    """One key per submission: resubmitting after a return asks the executives again."""
    stamp = int(doc.submitted_at.timestamp()) if doc.submitted_at else 0
    return f"review:{doc._meta.label_lower}:{doc.pk}:{stamp}"


def _approvers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=Role.EXECUTIVE.label).distinct()


def _authors(doc: VersionedDocument) -> list[User]:
    return [u for u in (doc.submitted_by, doc.created_by) if u is not None]


def _announce_submit(doc: VersionedDocument, by: User) -> None:
    inbox_notify(
        users=_approvers(),
        kind="approval-requested",
        text=f"{doc.LABEL} v{doc.number} awaits your approval",
        body=f"{by} submitted it for review."
        + (f" Change note: {doc.change_note}" if doc.change_note else ""),
        url=doc.get_absolute_url(),
        dedupe_key=_review_key(doc),
        exclude=by,
    )


def _announce_decision(doc: VersionedDocument, by: User, key: str, *, approved: bool) -> None:
    inbox_resolve(dedupe_key=key)  # the other executives' "awaits your approval" is dealt with
    if approved:
        text, body = f"{doc.LABEL} v{doc.number} was approved and published", f"Approved by {by}."
    else:
        text, body = f"{doc.LABEL} v{doc.number} returned with a comment", f"{by}: {doc.review_comment}"
    inbox_notify(
        users=_authors(doc),
        kind="approved" if approved else "draft-returned",
        text=text,
        body=body,
        url=doc.get_absolute_url(),
        exclude=by,
    )


# --- reading ----------------------------------------------------------------------------------


def document_versions[D: VersionedDocument](*, model: type[D]) -> QuerySet[D]:
    return model.objects.select_related("created_by", "submitted_by", "decided_by").order_by("-number")


def document_published[D: VersionedDocument](*, model: type[D]) -> D | None:
    return document_versions(model=model).filter(state=DocState.PUBLISHED).first()


def document_current_draft[D: VersionedDocument](*, model: type[D]) -> D | None:
    """The version being worked on (draft or in review), if any."""
    return document_versions(model=model).filter(state__in=[DocState.DRAFT, DocState.IN_REVIEW]).first()


@dataclass(frozen=True)
class PendingApproval:
    label: str
    number: int
    url: str
    submitted_by: str
    submitted_at: Any
    change_note: str

    @property
    def title(self) -> str:
        return f"{self.label} v{self.number}"


def document_approvals_pending(*, user: User) -> list[PendingApproval]:
    """Every governance document version waiting in review, oldest first, in one query: what
    an executive's home shows first. Empty for anyone who does not approve (no query)."""
    if not (user.is_executive or user.is_superuser):
        return []
    from django.apps import apps
    from django.db.models import CharField, F, Value

    models = sorted(
        (m for m in apps.get_models() if issubclass(m, VersionedDocument)), key=lambda m: m._meta.label
    )
    parts = [
        m.objects.filter(state=DocState.IN_REVIEW)
        .annotate(kind=Value(m._meta.label, output_field=CharField()), who=F("submitted_by__username"))
        .values_list("kind", "number", "who", "submitted_at", "change_note")
        .order_by()
        for m in models
    ]
    if not parts:
        return []
    by_label = {m._meta.label: m for m in models}
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    pending = []
    for kind, number, who, submitted_at, note in sorted(rows, key=lambda r: (r[3] is None, r[3])):
        model = by_label[kind]
        url = model(number=number).get_absolute_url()
        pending.append(PendingApproval(model.LABEL, number, url, who or "", submitted_at, note))
    return pending


@dataclass(frozen=True)
class DiffLine:
    left: str
    right: str
    kind: str  # equal | replace | delete | insert


@dataclass(frozen=True)
class DiffSection:
    label: str
    lines: list[DiffLine]
    changed: bool


def text_diff(old: str, new: str) -> list[DiffLine]:
    """Side-by-side line diff; the template escapes both sides (text, never HTML)."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    rows: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append(DiffLine(left[k] if k < len(left) else "", right[k] if k < len(right) else "", tag))
    return rows


def document_diff(*, old: VersionedDocument, new: VersionedDocument) -> list[DiffSection]:
    sections = []
    for (label, a), (_label, b) in zip(old.diff_sections(), new.diff_sections(), strict=True):
        lines = text_diff(a, b)
        sections.append(DiffSection(label, lines, any(line.kind != "equal" for line in lines)))
    return sections
