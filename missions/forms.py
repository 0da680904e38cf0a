from __future__ import annotations

from django import forms

from charter.models import Department, DepartmentGoal, Touchpoint, User
from charter.selectors import department_scope
from cxgov.fields import BoundedDateField

from .models import MissionMoment, MissionVersion, SuccessMeasure, SuccessStatementVersion

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MissionVersionForm(forms.ModelForm):
    class Meta:
        model = MissionVersion
        fields = ["statement", "narrative", "change_note"]
        widgets = {"statement": forms.Textarea(attrs={"rows": 3})}


class SuccessStatementVersionForm(forms.ModelForm):
    class Meta:
        model = SuccessStatementVersion
        fields = ["narrative", "change_note"]


class SuccessMeasureForm(forms.ModelForm):
    class Meta:
        model = SuccessMeasure
        fields = [
            "name", "kind", "unit", "direction", "baseline_value", "baseline_date", "target_value",
            "target_date", "owner_department", "department_goal", "scope_departments", "money_assumptions",
            "min_answers",
        ]  # fmt: skip
        widgets = {
            "baseline_date": DATE,
            "target_date": DATE,
            "scope_departments": forms.CheckboxSelectMultiple,
            "money_assumptions": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "money_assumptions": "Customer value, churn cost, cost to serve… Finance validates these.",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["department_goal"].queryset = DepartmentGoal.objects.select_related("department")
        self.fields["owner_department"].queryset = Department.objects.all()
        self.fields["min_answers"].required = False

    def clean_min_answers(self) -> int:
        return self.cleaned_data.get("min_answers") or 30


class MeasureActualForm(forms.Form):
    date = BoundedDateField(widget=DATE)
    value = forms.DecimalField(max_digits=14, decimal_places=2)
    note = forms.CharField(max_length=200, required=False)


class ActualChangeForm(forms.Form):
    """Correct or delete an entered actual: the reason goes into the audit trail."""

    reason = forms.CharField(
        max_length=100, help_text="Why: kept in the audit trail with the old and new values."
    )
    value = forms.DecimalField(max_digits=14, decimal_places=2, required=False)
    date = forms.DateField(widget=DATE, required=False)
    delete = forms.BooleanField(required=False)


class MissionMomentForm(forms.ModelForm):
    class Meta:
        model = MissionMoment
        fields = ["kind", "title", "story", "department", "touchpoint"]
        widgets = {"kind": forms.RadioSelect, "story": forms.Textarea(attrs={"rows": 4, "maxlength": 2000})}

    def __init__(self, *args: object, user: User | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if user is not None:  # only the departments the user may see can be credited
            self.fields["department"].queryset = department_scope(
                Department.objects.all(), user=user, field="id"
            )
        self.fields["touchpoint"].queryset = Touchpoint.objects.select_related("department")
        self.fields["touchpoint"].label_from_instance = lambda t: f"{t.name} ({t.department.name})"


class FigureValidateForm(forms.Form):
    """Finance's validation of one figure: what they checked, and where the evidence is."""

    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What you checked",
        help_text="Recorded in the audit trail with your name.",
    )
    evidence_url = forms.URLField(
        max_length=500, required=False, assume_scheme="https", label="Evidence link (optional)"
    )


class FigureReturnForm(forms.Form):
    """Finance sends a figure back to the CX leader with a question."""

    question = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Your question to the CX leader"
    )
