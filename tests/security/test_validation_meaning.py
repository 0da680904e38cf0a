"""Issue 24, finding 5: finance validation survived edits that change what a figure means.

The probe changed a validated ROI assumption's currency (EUR -> USD: the same digits, a
different amount of money) and its department (the figures now price another department's
customers) through the ordinary edit form; "validated by finance" stayed. Here the same
attacks, and more, each sent the way a CX leader's browser or API client sends it; what must
come back is a figure no longer marked validated, and back in finance's queue.

The lists of meaning fields live beside the models (``MEANING_FIELDS``) and a completeness
test fails when a new field is in neither that list nor the explicit ignore list.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import models
from django.test import Client
from django.utils import timezone

from charter.models import Department, DepartmentGoal, User
from missions.models import FinanceValidated, SuccessMeasure
from reports.models import RoiAssumption
from tests.factories import DepartmentFactory, SuccessMeasureFactory

FIGURE_MODELS = [SuccessMeasure, RoiAssumption]


def _fields(model: type[models.Model]) -> set[str]:
    """Every field stored with the row: concrete columns and many-to-many sets (not reverse
    relations, not the audit trail's history)."""
    return {
        f.name
        for f in model._meta.get_fields()
        if ((getattr(f, "concrete", False) or f.many_to_many) and not f.auto_created) or f.name == "id"
    }


@pytest.mark.parametrize("model", FIGURE_MODELS, ids=lambda m: m.__name__)
def test_every_field_of_a_validated_figure_is_declared_meaning_or_ignored(
    model: type[FinanceValidated],
) -> None:
    meaning, ignored = set(model.MEANING_FIELDS), set(model.VALIDATION_IGNORED_FIELDS)
    assert not meaning & ignored, f"both meaning and ignored: {meaning & ignored}"
    undeclared = _fields(model) - meaning - ignored
    assert not undeclared, (
        f"{model.__name__} has fields in neither MEANING_FIELDS nor VALIDATION_IGNORED_FIELDS: "
        f"{sorted(undeclared)}. Decide whether changing them changes what finance validated."
    )
    unknown = (meaning | ignored) - _fields(model)
    assert not unknown, f"listed but not fields of {model.__name__}: {sorted(unknown)}"


def test_the_completeness_check_catches_a_field_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone adds ``currency`` and forgets it: the check above names it."""
    monkeypatch.setattr(
        RoiAssumption, "MEANING_FIELDS", tuple(f for f in RoiAssumption.MEANING_FIELDS if f != "currency")
    )
    undeclared = (
        _fields(RoiAssumption)
        - set(RoiAssumption.MEANING_FIELDS)
        - set(RoiAssumption.VALIDATION_IGNORED_FIELDS)
    )
    assert undeclared == {"currency"}


# --- ROI assumptions through the edit form -------------------------------------------------


def _validated_assumption(leader: User, finance: User, department: Department | None = None) -> RoiAssumption:
    return RoiAssumption.objects.create(
        segment="Retail",
        department=department,
        customer_value_per_year=Decimal("1200"),
        churn_rate_detractor=Decimal("30"),
        churn_rate_passive=Decimal("12"),
        churn_rate_promoter=Decimal("5"),
        cost_per_contact=Decimal("18.50"),
        cost_to_serve=Decimal("90"),
        currency="EUR",
        owner=leader,
        validated_by=finance,
        validated_at=timezone.now(),
        validation_note="Checked against the ledger.",
    )


def _form_data(a: RoiAssumption, **changes: object) -> dict[str, object]:
    data = {
        "segment": a.segment,
        "department": a.department_id or "",
        "customer_value_per_year": a.customer_value_per_year,
        "churn_rate_detractor": a.churn_rate_detractor,
        "churn_rate_passive": a.churn_rate_passive,
        "churn_rate_promoter": a.churn_rate_promoter,
        "cost_per_contact": a.cost_per_contact,
        "cost_to_serve": a.cost_to_serve,
        "currency": a.currency,
        "notes": a.notes,
        "owner": a.owner_id,
    }
    return data | changes


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "USD"),  # the probe's attack: same digits, another currency
        ("segment", "Retail (all regions)"),
        ("customer_value_per_year", "1300"),
        ("churn_rate_promoter", "6"),
    ],
)
def test_editing_a_validated_assumptions_meaning_in_the_form_clears_validation(
    leader: User, finance: User, leader_client: Client, finance_client: Client, field: str, value: str
) -> None:
    a = _validated_assumption(leader, finance)
    response = leader_client.post(f"/reports/roi/assumptions/{a.pk}/edit/", _form_data(a, **{field: value}))
    assert response.status_code == 302, response.content.decode()[:2000]
    a.refresh_from_db()
    assert a.validated_at is None and a.validated_by is None and a.validation_note == ""
    queue = finance_client.get("/finance/validation/").content.decode()
    assert f'id="assumption-{a.pk}"' in queue


def test_moving_a_validated_assumption_to_another_department_clears_validation(
    leader: User, finance: User, leader_client: Client, dept_a: Department
) -> None:
    a = _validated_assumption(leader, finance)
    response = leader_client.post(
        f"/reports/roi/assumptions/{a.pk}/edit/", _form_data(a, department=dept_a.pk)
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.department == dept_a and not a.is_validated
    page = leader_client.get("/reports/roi/assumptions/").content.decode()
    assert "UNVALIDATED" in page


def test_saving_the_same_figures_or_new_notes_keeps_the_validation(
    leader: User, finance: User, leader_client: Client
) -> None:
    a = _validated_assumption(leader, finance)
    leader_client.post(f"/reports/roi/assumptions/{a.pk}/edit/", _form_data(a, notes="Source: plan 2026"))
    a.refresh_from_db()
    assert a.is_validated and a.validation_note == "Checked against the ledger."


# --- success measures through the API ------------------------------------------------------


@pytest.fixture
def validated_measure(finance: User) -> SuccessMeasure:
    return SuccessMeasureFactory(
        name="Churn",
        kind="churn",
        unit="%",
        direction="lower",
        baseline_value=Decimal("13.5"),
        baseline_date=dt.date(2026, 1, 1),
        target_value=Decimal("10"),
        validated_by=finance,
        validated_at=timezone.now(),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unit", "‰"),  # per cent to per mille: 13.5 means something else
        ("direction", "higher"),
        ("kind", "retention"),
        ("owner_department", "new-dept"),
        ("department_goal", "new-goal"),
        ("scope_departments", "new-scope"),
    ],
)
def test_editing_a_validated_measures_meaning_through_the_api_clears_validation(
    validated_measure: SuccessMeasure, leader_client: Client, field: str, value: str
) -> None:
    if value == "new-dept":
        value = DepartmentFactory().pk
    elif value == "new-goal":
        value = DepartmentGoal.objects.create(department=DepartmentFactory(), title="Keep customers").pk
    elif value == "new-scope":
        value = [DepartmentFactory(slug="scope-x").slug]
    response = leader_client.patch(
        f"/api/v1/success-measures/{validated_measure.pk}/", {field: value}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["validation_cleared"] is True and response.json()["is_validated"] is False
    validated_measure.refresh_from_db()
    assert validated_measure.validated_at is None


def test_patching_a_validated_measure_with_its_own_values_keeps_the_validation(
    validated_measure: SuccessMeasure, leader_client: Client
) -> None:
    response = leader_client.patch(
        f"/api/v1/success-measures/{validated_measure.pk}/",
        {"unit": "%", "baseline_value": "13.50", "name": "Customer churn"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["validation_cleared"] is False and response.json()["is_validated"] is True


def test_a_leader_cannot_write_validation_fields_through_the_api(leader_client: Client, leader: User) -> None:
    measure = SuccessMeasureFactory(baseline_value=Decimal("5"), baseline_date=dt.date(2026, 1, 1))
    response = leader_client.patch(
        f"/api/v1/success-measures/{measure.pk}/",
        {
            "validated_at": "2026-01-01T00:00:00Z",
            "validation_note": "self-approved",
            "validated_by": leader.pk,
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    measure.refresh_from_db()
    assert measure.validated_at is None and measure.validation_note == ""


def test_an_operators_admin_edit_of_the_currency_clears_validation_too(
    leader: User, finance: User, client: Client
) -> None:
    admin = User.objects.create_superuser("operator", "op@example.com", "pw-for-tests-123")
    client.force_login(admin)
    a = _validated_assumption(leader, finance)
    data = _form_data(a, currency="USD") | {"department": ""}
    response = client.post(f"/admin/reports/roiassumption/{a.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    a.refresh_from_db()
    assert a.currency == "USD" and not a.is_validated
