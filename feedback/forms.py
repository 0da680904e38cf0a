"""Forms of the intake screens. They validate input; services write."""

from __future__ import annotations

from typing import Any

from django import forms

from charter.models import Department, DepartmentGoal, Touchpoint
from cxgov.fields import BoundedDateField
from missions.models import SuccessMeasure

from .models import Band, Program, Response, Source
from .sources import KINDS
from .sources._common import ROLES

ROLE_HELP = {
    "external_id": "The response id (a CSV without one is keyed by a hash of each row).",
    "submitted_at": "When the customer answered.",
    "email": "Customer e-mail.",
    "name": "Customer name.",
    "customer_id": "Your or the vendor's customer id.",
    "department": "A department slug or name; else the program's department.",
    "nps": "0–10 likelihood to recommend.",
    "csat": "Satisfaction score.",
    "ces": "Customer effort score.",
    "comment": "Free-text answer.",
    "touchpoint": "Touchpoint slug or name.",
}


class ProgramForm(forms.ModelForm):
    """A program must say why it exists: its purpose and the measure or goal it informs."""

    class Meta:
        model = Program
        fields = [
            "name",
            "kind",
            "purpose",
            "success_measure",
            "department_goal",
            "touchpoint",
            "department",
            "is_active",
        ]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "purpose": "Why this program exists: the decision it informs. Required.",
            "success_measure": "The success measure it informs (or pick a department goal).",
            "department_goal": "The department goal it informs (or pick a success measure).",
            "department": "The department that owns the program.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["purpose"].required = True
        self.fields["success_measure"].queryset = SuccessMeasure.objects.order_by("position", "id")
        self.fields["department_goal"].queryset = DepartmentGoal.objects.select_related("department")
        self.fields["touchpoint"].queryset = Touchpoint.objects.select_related("stage")
        self.fields["department"].queryset = Department.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("success_measure") and not data.get("department_goal"):
            self.add_error(
                "success_measure", "Link the success measure or the department goal this program informs."
            )
        return data


class SourceForm(forms.Form):
    """A source: kind, field map (one box per role), scales, time zone, secret."""

    name = forms.CharField(max_length=160)
    kind = forms.ChoiceField(choices=[(k, dict(Source.Kind.choices).get(k, k)) for k in KINDS])
    secret = forms.CharField(
        max_length=255,
        required=False,
        help_text="The vendor's signing secret or shared key (Typeform: leave blank to generate one).",
    )
    timezone = forms.CharField(max_length=64, initial="UTC", help_text="For timestamps without a zone.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for role in ROLES:
            self.fields[f"map_{role}"] = forms.CharField(
                label=f"Field for {role}", required=False, max_length=255, help_text=ROLE_HELP.get(role, "")
            )
        for metric, (lo, hi) in (("nps", (0, 10)), ("csat", (1, 5)), ("ces", (1, 7))):
            self.fields[f"scale_{metric}_low"] = forms.IntegerField(
                label=f"{metric.upper()} scale low", required=False, help_text=f"Default {lo}."
            )
            self.fields[f"scale_{metric}_high"] = forms.IntegerField(
                label=f"{metric.upper()} scale high", required=False, help_text=f"Default {hi}."
            )

    def clean_timezone(self) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        value = self.cleaned_data["timezone"].strip() or "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(
                f"Unknown time zone {value!r}; use a name like Europe/Paris."
            ) from None
        return value

    @property
    def map_fields(self) -> list[forms.BoundField]:
        return [self[f"map_{role}"] for role in ROLES]

    @property
    def scale_fields(self) -> list[forms.BoundField]:
        return [self[f"scale_{m}_{end}"] for m in ("nps", "csat", "ces") for end in ("low", "high")]

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "kind", "secret", "timezone")]

    def field_map(self) -> dict[str, str]:
        return {
            role: self.cleaned_data[f"map_{role}"].strip()
            for role in ROLES
            if self.cleaned_data.get(f"map_{role}")
        }

    def scales(self) -> dict[str, list[int]]:
        result = {}
        for metric in ("nps", "csat", "ces"):
            low = self.cleaned_data.get(f"scale_{metric}_low")
            high = self.cleaned_data.get(f"scale_{metric}_high")
            if low is not None or high is not None:
                result[metric] = [low, high]
        return result

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for metric in ("nps", "csat", "ces"):
            low, high = data.get(f"scale_{metric}_low"), data.get(f"scale_{metric}_high")
            if (low is None) != (high is None):
                self.add_error(f"scale_{metric}_high", "Give both ends of the scale, or neither.")
            elif low is not None and high is not None and low >= high:
                self.add_error(f"scale_{metric}_high", "The high end must be above the low end.")
        return data


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 (with or without BOM) or Windows-1252.")


class ManualResponseForm(forms.Form):
    """Feedback an employee heard (on a call, in a meeting), attributed to them."""

    program = forms.ModelChoiceField(queryset=Program.objects.none())
    channel = forms.ChoiceField(
        choices=[
            ("phone", "Phone call"),
            ("meeting", "Meeting"),
            ("email", "E-mail"),
            ("chat", "Chat"),
            ("other", "Other"),
        ]
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, label="What the customer said"
    )
    nps = forms.IntegerField(required=False, label="NPS (0–10)", min_value=-32768, max_value=32767)
    csat = forms.IntegerField(required=False, label="CSAT (1–5)", min_value=-32768, max_value=32767)
    ces = forms.IntegerField(required=False, label="CES (1–7)", min_value=-32768, max_value=32767)
    customer_name = forms.CharField(required=False, max_length=255)
    customer_email = forms.EmailField(required=False)
    customer_external_id = forms.CharField(required=False, max_length=255, label="Customer id")
    touchpoint = forms.CharField(required=False, max_length=160)

    def __init__(self, *args: Any, programs: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if programs is not None:
            self.fields["program"].queryset = programs

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("comment") or "").strip() and all(
            data.get(m) is None for m in ("nps", "csat", "ces")
        ):
            self.add_error("comment", "Write what the customer said, or give a score.")
        return data


class ResponseFilterForm(forms.Form):
    """The filters of the response list (all optional, GET)."""

    q = forms.CharField(required=False, label="Search comments")
    program = forms.ChoiceField(required=False)
    source = forms.ChoiceField(required=False)
    band = forms.ChoiceField(required=False, choices=[("", "Any band"), *Band.choices])
    department = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Response.Status.choices])
    date_from = BoundedDateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = BoundedDateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self, *args: Any, programs: Any = (), sources: Any = (), departments: Any = (), **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["program"].choices = [("", "Any program"), *[(p.slug, p.name) for p in programs]]
        self.fields["source"].choices = [("", "Any source"), *[(s.slug, s.name) for s in sources]]
        self.fields["department"].choices = [("", "Any department"), *[(d.slug, d.name) for d in departments]]
