from __future__ import annotations

from typing import Any

from django import forms

from .models import (
    CharterRole,
    CharterVersion,
    Decision,
    DepartmentGoal,
    GovernanceActivity,
    GovernanceMeeting,
    JourneyStage,
    MaturityAssessment,
    MaturityStatement,
    Priority,
    Touchpoint,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OptionalPositionMixin:
    """``position`` only orders rows; leaving it empty means "first" (0), not an error."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        if "position" in self.fields:  # type: ignore[attr-defined]
            self.fields["position"].required = False  # type: ignore[attr-defined]

    def clean_position(self) -> int:
        return self.cleaned_data.get("position") or 0  # type: ignore[attr-defined]


class CharterVersionForm(forms.ModelForm):
    class Meta:
        model = CharterVersion
        fields = ["purpose", "scope", "decisions_policy", "change_note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the model lets a draft opened by a list edit start without one; a person writes it
        self.fields["purpose"].required = True


class CharterRoleForm(OptionalPositionMixin, forms.ModelForm):
    class Meta:
        model = CharterRole
        fields = ["name", "key", "responsibilities", "accountabilities", "position"]
        widgets = {
            "responsibilities": forms.Textarea(attrs={"rows": 3}),
            "accountabilities": forms.Textarea(attrs={"rows": 3}),
        }


class GovernanceActivityForm(OptionalPositionMixin, forms.ModelForm):
    class Meta:
        model = GovernanceActivity
        fields = ["name", "position"]


class GovernanceMeetingForm(OptionalPositionMixin, forms.ModelForm):
    class Meta:
        model = GovernanceMeeting
        fields = ["name", "frequency", "attendees", "purpose", "position"]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}


class PriorityForm(forms.ModelForm):
    class Meta:
        model = Priority
        fields = ["title", "description", "department", "success_measure"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class DecisionForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["title", "decided_on", "rationale", "priority"]
        widgets = {"decided_on": DATE, "rationale": forms.Textarea(attrs={"rows": 3})}


class DepartmentGoalForm(OptionalPositionMixin, forms.ModelForm):
    class Meta:
        model = DepartmentGoal
        fields = ["title", "metric", "current_value", "target_value", "unit", "target_date", "position"]
        widgets = {"target_date": DATE}


class JourneyStageForm(OptionalPositionMixin, forms.ModelForm):
    class Meta:
        model = JourneyStage
        fields = ["name", "description", "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class TouchpointForm(OptionalPositionMixin, forms.ModelForm):
    class Meta:
        model = Touchpoint
        fields = ["stage", "name", "slug", "department", "description", "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class MaturityAssessmentForm(forms.ModelForm):
    """Assessment header plus one 1–5 choice per active statement (fields ``s<id>``)."""

    class Meta:
        model = MaturityAssessment
        fields = ["title", "assessed_on", "notes"]
        widgets = {"assessed_on": DATE, "notes": forms.Textarea(attrs={"rows": 3})}

    SCORE_CHOICES = [(i, str(i)) for i in range(1, 6)]

    def __init__(self, *args: object, statements: list[MaturityStatement], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.statements = statements
        for s in statements:
            self.fields[f"s{s.pk}"] = forms.TypedChoiceField(
                label=s.text, choices=self.SCORE_CHOICES, coerce=int, widget=forms.RadioSelect
            )

    def scores(self) -> dict[int, int]:
        return {s.pk: self.cleaned_data[f"s{s.pk}"] for s in self.statements}

    def score_fields(self, dimension: str) -> list[forms.BoundField]:
        return [self[f"s{s.pk}"] for s in self.statements if s.dimension == dimension]
