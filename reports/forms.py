"""Forms of the reports area (validation only; services save)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet

from charter.models import Department, User
from cxgov.fields import BoundedDateField
from missions.forms import FigureReturnForm, FigureValidateForm

from .models import RoiAssumption

__all__ = ["FigureReturnForm", "FigureValidateForm", "ReportRequestForm", "RoiAssumptionForm"]


class RoiAssumptionForm(forms.ModelForm):
    class Meta:
        model = RoiAssumption
        fields = [
            "segment",
            "department",
            "customer_value_per_year",
            "churn_rate_detractor",
            "churn_rate_passive",
            "churn_rate_promoter",
            "cost_per_contact",
            "cost_to_serve",
            "currency",
            "notes",
            "owner",
        ]
        labels = {
            "churn_rate_detractor": "Churn rate of detractors (% a year)",
            "churn_rate_passive": "Churn rate of passives (% a year)",
            "churn_rate_promoter": "Churn rate of promoters (% a year)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        self.fields["department"].required = False
        self.fields["department"].empty_label = "— default segment (everyone else) —"


class ReportRequestForm(forms.Form):
    period_start = BoundedDateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    period_end = BoundedDateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the whole organisation (executives and CX leaders) or your own departments.",
    )

    def __init__(self, *args: Any, departments: QuerySet[Department], **kwargs: Any) -> None:
        today = date.today()
        first = today.replace(day=1)
        kwargs.setdefault(
            "initial",
            {
                "period_start": (first - timedelta(days=1)).replace(day=1) - timedelta(days=62),
                "period_end": first - timedelta(days=1),
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = departments

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("period_start") and data.get("period_end") and data["period_start"] > data["period_end"]:
            self.add_error("period_end", "The period must end on or after its start.")
        return data
