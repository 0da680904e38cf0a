"""Forms of the triage screens. They validate input; the services in ``feedback.actions``
decide what is allowed. Every form that changes an action carries its ``version``."""

from __future__ import annotations

from typing import Any

from django import forms

from charter.models import User
from cxgov.fields import BoundedDateField, IdListField
from missions.models import SuccessMeasure

from ..customer_messages import TEMPLATE_CHOICES
from ..models import ActionItem, ContactLog, Loop, Priority, ResolutionOutcome
from .selectors import SORTS, TABS, InboxFilters

S = ActionItem.Status
DATE = forms.DateInput(attrs={"type": "date"})


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:  # type: ignore[override]
        return f"{obj} (@{obj.username})"


class InboxFilterForm(forms.Form):
    """The inbox query. Invalid values are dropped with a message, never a 500."""

    tab = forms.ChoiceField(choices=TABS, required=False, widget=forms.Select)
    q = forms.CharField(label="Search comments", required=False, max_length=200)
    status = forms.ChoiceField(choices=[("", "Any status"), *S.choices], required=False, widget=forms.Select)
    loop = forms.ChoiceField(choices=[("", "Both loops"), *Loop.choices], required=False, widget=forms.Select)
    priority = forms.ChoiceField(
        choices=[("", "Any priority"), *Priority.choices], required=False, widget=forms.Select
    )
    theme = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.Select)
    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.Select)
    program = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.Select)
    source = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.Select)
    touchpoint = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.Select)
    department = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.Select)
    date_from = BoundedDateField(label="Created from", required=False, widget=DATE)
    date_to = BoundedDateField(label="Created to", required=False, widget=DATE)
    sort = forms.ChoiceField(
        choices=[
            ("due", "Due date, soonest"),
            ("-due", "Due date, latest"),
            ("priority", "Priority"),
            ("-created", "Newest"),
            ("created", "Oldest"),
            ("status", "Status"),
        ],
        required=False,
        widget=forms.Select,
    )

    def __init__(self, *args: Any, options: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter_%s")  # the bulk form on the same page uses id_*
        super().__init__(*args, **kwargs)
        any_ = [("", "Any")]
        self.fields["theme"].choices = any_ + [(t.id, t.name) for t in options.themes]
        self.fields["owner"].choices = any_ + [(u.id, str(u)) for u in options.owners]
        self.fields["program"].choices = any_ + [(p.id, p.name) for p in options.programs]
        self.fields["source"].choices = any_ + [(s.id, s.name) for s in options.sources]
        self.fields["touchpoint"].choices = any_ + [(t.id, t.name) for t in options.touchpoints]
        self.fields["department"].choices = any_ + [(d.id, d.name) for d in options.departments]

    def filters(self) -> InboxFilters:
        """The valid part of the query; an invalid field is ignored (and shown as an error)."""
        data = {}
        for name in self.fields:
            if name in self.errors:
                continue
            value = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
            if value not in (None, ""):
                data[name] = value
        data.setdefault("tab", "open")
        if data.get("sort") not in SORTS:
            data["sort"] = "due"
        return InboxFilters(**data)


class VersionedForm(forms.Form):
    """Carries the ``version`` the person saw; ids are prefixed so many forms share a page."""

    id_prefix = "action"
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class AssignForm(VersionedForm):
    id_prefix = "assign"
    owner = UserChoiceField(queryset=User.objects.none(), label="Owner")

    def __init__(self, *args: Any, owners: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [u.pk for u in owners or []]
        self.fields["owner"].queryset = User.objects.filter(pk__in=ids, is_active=True)
        self.fields["owner"].choices = [("", "Choose a person")] + [
            (u.pk, f"{u} (@{u.username})") for u in owners or []
        ]


class PriorityForm(VersionedForm):
    id_prefix = "priority"
    priority = forms.ChoiceField(choices=Priority.choices)


class SnoozeForm(VersionedForm):
    id_prefix = "snooze"
    until = BoundedDateField(
        label="Snooze until", widget=DATE, required=False, help_text="Empty wakes it up."
    )


class ContactForm(VersionedForm):
    id_prefix = "contact"
    channel = forms.ChoiceField(choices=ContactLog.Channel.choices)
    outcome = forms.ChoiceField(
        choices=ContactLog.Outcome.choices,
        help_text="An attempt is recorded but does not stop the first-contact clock; a conversation does.",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)


class TransitionForm(VersionedForm):
    id_prefix = "transition"
    to_status = forms.ChoiceField(choices=S.choices, label="Move to")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required to close as unreachable or no action needed.",
    )
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    fix = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    success_measure = forms.ModelChoiceField(queryset=SuccessMeasure.objects.all(), required=False)
    verification_date = BoundedDateField(widget=DATE, required=False)
    outcome = forms.ChoiceField(
        choices=[("", "Choose the outcome"), *ResolutionOutcome.choices],
        required=False,
        label="Outcome",
        help_text="Required to resolve.",
    )
    customer_told = forms.TypedChoiceField(
        choices=[("yes", "Yes, the customer was told"), ("no", "No, not told")],
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        label="Was the customer told?",
        help_text="Required to resolve.",
    )

    def __init__(
        self,
        *args: Any,
        action: ActionItem | None = None,
        measures: list[SuccessMeasure] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if action is not None and action.loop == Loop.INNER:
            for name in ("root_cause", "fix", "success_measure", "verification_date"):
                del self.fields[name]
        else:
            for name in ("outcome", "customer_told"):
                del self.fields[name]
            if measures is not None:  # many forms on one page share one query
                self.fields["success_measure"].choices = [("", "---------")] + [
                    (m.pk, str(m)) for m in measures
                ]


class CommentForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "comment_%s")
        super().__init__(*args, **kwargs)

    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Mention a colleague with @username to notify them.",
    )


class ReopenForm(VersionedForm):
    id_prefix = "reopen"
    reason = forms.CharField(
        label="Why reopen it",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Kept in the history with what it was closed as.",
    )


class TellCustomersForm(forms.Form):
    """The "we fixed it" e-mail: start from a template, edit it, preview it per customer."""

    template = forms.ChoiceField(choices=TEMPLATE_CHOICES, required=False, label="Start from")
    subject = forms.CharField(label="Subject", max_length=200)
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=5000,
        help_text="{name} becomes each customer's name, {fix} the fix; an unsubscribe link is added.",
    )
    customer = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Preview as", widget=forms.Select
    )

    def __init__(self, *args: Any, recipients: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [
            (r.customer_id, f"{r.name or 'Name unknown'} <{r.email}>") for r in recipients or []
        ]


BULK_OPS = [
    ("", "Choose an action"),
    ("assign", "Assign to"),
    ("priority", "Change priority"),
    ("snooze", "Snooze until"),
    ("close", "Close with a reason"),
]


class BulkForm(forms.Form):
    ids = IdListField(
        label="Selected actions",
        error_messages={"required": "Select at least one action (tick its box)."},
    )
    operation = forms.ChoiceField(choices=BULK_OPS, label="Bulk action", widget=forms.Select)
    owner = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Owner", widget=forms.Select
    )
    priority = forms.ChoiceField(choices=[("", "—"), *Priority.choices], required=False, widget=forms.Select)
    until = BoundedDateField(widget=DATE, required=False, label="Snooze until")
    close_status = forms.ChoiceField(
        choices=[(S.NO_ACTION, S.NO_ACTION.label), (S.UNREACHABLE, S.UNREACHABLE.label)],
        required=False,
        label="Close as",
        widget=forms.Select,
    )
    reason = forms.CharField(required=False, max_length=2000, label="Reason", widget=forms.TextInput)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner_map = {u.pk: u for u in owners}
        self.fields["owner"].choices = [("", "—")] + [(u.pk, str(u)) for u in owners]

    def submitted_ids(self) -> list[int]:
        """The ids ticked, parsed by the form's own field; none if any is not an id (the form
        then refuses with the field's error)."""
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        try:
            return self.fields["ids"].clean(raw)
        except forms.ValidationError:
            return []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        op = data.get("operation")
        if op == "assign" and not data.get("owner"):
            self.add_error("owner", "Choose who gets the selected actions.")
        if op == "priority" and not data.get("priority"):
            self.add_error("priority", "Choose the new priority.")
        if op == "snooze" and not data.get("until"):
            self.add_error("until", "Choose the date to snooze until.")
        if op == "close" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the selected actions close.")
        return data

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "assign": lambda: {"owner": self.owner_map[data["owner"]]},
            "priority": lambda: {"priority": data["priority"]},
            "snooze": lambda: {"until": data["until"]},
            "close": lambda: {"to_status": data.get("close_status") or S.NO_ACTION, "reason": data["reason"]},
        }[data["operation"]]()
