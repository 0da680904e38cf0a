"""CX Success Statement: measures, finance validation (and its clearing), actuals, API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from charter.models import User
from missions.models import MeasureActual, SuccessMeasure
from missions.selectors import success_measure_list
from missions.services import (
    measure_actual_enter,
    measure_actual_record_computed,
    success_measure_save,
    success_measure_validate,
)
from tests.factories import SuccessMeasureFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def validated(finance: User) -> SuccessMeasure:
    return SuccessMeasureFactory(
        name="Churn",
        kind="churn",
        baseline_value=Decimal("13.5"),
        baseline_date=dt.date(2026, 1, 1),
        target_value=Decimal("10"),
        money_assumptions="Each point costs €410k.",
        validated_by=finance,
        validated_at=timezone.now(),
    )


def test_finance_validates_a_measure_and_who_when_is_recorded(finance: User) -> None:
    measure = SuccessMeasureFactory(baseline_value=5, baseline_date=dt.date(2026, 1, 1))
    measure = success_measure_validate(measure=measure, by=finance, note="Checked against the ledger.")
    assert measure.validated_by == finance and measure.validated_at is not None


def test_validation_needs_a_baseline(finance: User) -> None:
    with pytest.raises(ValidationError, match="baseline"):
        success_measure_validate(measure=SuccessMeasureFactory(), by=finance, note="Checked.")


@pytest.mark.parametrize("who", ["leader", "executive", "ambassador"])
def test_only_finance_validates(who: str, request: pytest.FixtureRequest) -> None:
    measure = SuccessMeasureFactory(baseline_value=5, baseline_date=dt.date(2026, 1, 1))
    with pytest.raises(PermissionDenied):
        success_measure_validate(measure=measure, by=request.getfixturevalue(who), note="Checked.")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("baseline_value", Decimal("12")),
        ("baseline_date", dt.date(2025, 1, 1)),
        ("target_value", Decimal("9")),
        ("money_assumptions", "Each point costs €500k."),
    ],
)
def test_editing_a_validated_figure_clears_the_validation(
    validated: SuccessMeasure, leader: User, field: str, value: object
) -> None:
    setattr(validated, field, value)
    result = success_measure_save(measure=validated, by=leader)
    validated.refresh_from_db()
    assert result.validation_cleared
    assert validated.validated_at is None and validated.validated_by is None


def test_editing_the_name_keeps_the_validation(validated: SuccessMeasure, leader: User) -> None:
    validated.name = "Customer churn"
    result = success_measure_save(measure=validated, by=leader)
    validated.refresh_from_db()
    assert not result.validation_cleared and validated.is_validated


def test_clearing_is_visible_in_the_browser(validated: SuccessMeasure, leader_client: Client) -> None:
    data = {
        "name": "Churn", "kind": "churn", "unit": "%", "direction": "lower", "baseline_value": "12",
        "baseline_date": "2026-01-01", "target_value": "10", "money_assumptions": "Each point costs €410k.",
    }  # fmt: skip
    response = leader_client.post(
        reverse("missions:measure-edit", kwargs={"pk": validated.pk}), data, follow=True
    )
    page = response.content.decode()
    assert "validation was cleared" in page
    assert 'data-testid="not-validated"' in page


def test_only_leaders_edit_measures_in_the_browser(validated: SuccessMeasure, finance_client: Client) -> None:
    response = finance_client.post(
        reverse("missions:measure-edit", kwargs={"pk": validated.pk}), {"name": "x"}
    )
    assert response.status_code == 403


def test_finance_validates_in_the_browser(finance_client: Client) -> None:
    measure = SuccessMeasureFactory(baseline_value=5, baseline_date=dt.date(2026, 1, 1))
    response = finance_client.post(
        reverse("missions:measure-validate", kwargs={"pk": measure.pk}), {"note": "Checked."}, follow=True
    )
    assert 'data-testid="validated"' in response.content.decode()


def test_business_actuals_are_entered_by_hand(leader: User) -> None:
    measure = SuccessMeasureFactory(kind="retention")
    measure_actual_enter(measure=measure, on=dt.date(2026, 5, 1), value=Decimal("87.1"), by=leader)
    measure_actual_enter(measure=measure, on=dt.date(2026, 5, 1), value=Decimal("87.3"), by=leader)
    assert list(measure.actuals.values_list("value", "origin")) == [(Decimal("87.30"), "manual")]


def test_cx_actuals_cannot_be_typed_in(leader: User) -> None:
    with pytest.raises(ValidationError, match="computed from feedback"):
        measure_actual_enter(
            measure=SuccessMeasureFactory(kind="nps"), on=dt.date(2026, 5, 1), value=1, by=leader
        )


def test_computed_actual_hook_is_idempotent_per_date() -> None:
    measure = SuccessMeasureFactory(kind="nps")
    measure_actual_record_computed(measure=measure, on=dt.date(2026, 5, 1), value=21.456)
    measure_actual_record_computed(measure=measure, on=dt.date(2026, 5, 1), value=22)
    assert list(measure.actuals.values_list("value", "origin")) == [(Decimal("22.00"), "computed")]


def test_success_page_lists_measures_with_badges(validated: SuccessMeasure, owner_client: Client) -> None:
    SuccessMeasureFactory(name="Cost to serve")
    page = owner_client.get(reverse("missions:success")).content.decode()
    assert "Churn" in page and "Cost to serve" in page
    assert "Validated" in page and "Not validated" in page


def test_measure_list_query_count_does_not_grow(owner_client: Client, finance: User) -> None:
    url = reverse("missions:success")
    SuccessMeasureFactory(validated_by=finance, validated_at=timezone.now())
    few = count_queries(lambda: owner_client.get(url))
    for m in SuccessMeasureFactory.create_batch(8, validated_by=finance, validated_at=timezone.now()):
        MeasureActual.objects.create(measure=m, date=dt.date(2026, 1, 1), value=1)
    assert count_queries(lambda: owner_client.get(url)) == few
    assert count_queries(lambda: list(success_measure_list())) == 3


# --- API -----------------------------------------------------------------------------------------


def test_api_round_trip_create_update_validate_actuals(leader_client: Client, finance_client: Client) -> None:
    created = leader_client.post(
        "/api/v1/success-measures/",
        {
            "name": "Retention",
            "kind": "retention",
            "unit": "%",
            "baseline_value": "86.5",
            "baseline_date": "2026-01-01",
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    validated = finance_client.post(
        f"/api/v1/success-measures/{pk}/validate/",
        {"note": "Matches the plan."},
        content_type="application/json",
    )
    assert validated.status_code == 200 and validated.json()["is_validated"] is True
    actual = finance_client.post(
        f"/api/v1/success-measures/{pk}/actuals/",
        {"date": "2026-06-01", "value": "87.2"},
        content_type="application/json",
    )
    assert actual.status_code == 201
    changed = leader_client.patch(
        f"/api/v1/success-measures/{pk}/", {"baseline_value": "85"}, content_type="application/json"
    )
    assert changed.status_code == 200
    assert changed.json()["validation_cleared"] is True and changed.json()["is_validated"] is False
    assert leader_client.get(f"/api/v1/success-measures/{pk}/").json()["actuals"][0]["value"] == "87.20"


def test_api_field_errors_are_400(leader_client: Client) -> None:
    response = leader_client.post(
        "/api/v1/success-measures/", {"kind": "nope"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"name", "kind"}


def test_api_refuses_measure_edits_by_finance(finance_client: Client) -> None:
    measure = SuccessMeasureFactory()
    response = finance_client.patch(
        f"/api/v1/success-measures/{measure.pk}/", {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
