"""ROI arithmetic against hand-computed numbers, assumptions' validation marking and clearing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from feedback.models import ActionItem
from reports import roi
from reports.models import RoiAssumption
from reports.selectors import Period, roi_summary
from reports.services import roi_assumption_save, roi_assumption_validate
from tests.factories import ActionItemFactory, ProgramFactory, SourceFactory, ThemeFactory
from tests.reports.helpers import scored


def test_revenue_retained_is_recovered_times_value_times_churn_difference():
    # 4 recovered × 1 200 × (25 % − 12 %) = 624.00
    assert roi.revenue_retained(
        recovered=4, customer_value=Decimal("1200"), churn_from_pct=Decimal("25"), churn_to_pct=Decimal("12")
    ) == Decimal("624.00")


def test_cost_avoided_counts_fewer_contacts_and_never_goes_negative():
    assert roi.cost_avoided(
        contacts_before=30, contacts_after=12, cost_per_contact=Decimal("18.50")
    ) == Decimal("333.00")
    assert roi.cost_avoided(
        contacts_before=3, contacts_after=9, cost_per_contact=Decimal("18.50")
    ) == Decimal("0.00")


def test_measure_movement_follows_the_measure_direction():
    up = roi.measure_movement(baseline=Decimal("20"), latest=Decimal("30"), target=Decimal("40"))
    assert up == {"change": Decimal("10"), "progress": Decimal("50.0"), "improved": True}
    down = roi.measure_movement(
        baseline=Decimal("10"), latest=Decimal("8"), target=Decimal("5"), lower_is_better=True
    )
    assert down["progress"] == Decimal("40.0") and down["improved"] is True
    assert roi.measure_movement(baseline=None, latest=Decimal("1"), target=None)["change"] is None


def _assumption(owner, **kw) -> RoiAssumption:
    fields = {
        "segment": "Default",
        "customer_value_per_year": Decimal("1000"),
        "churn_rate_detractor": Decimal("30"),
        "churn_rate_passive": Decimal("10"),
        "churn_rate_promoter": Decimal("5"),
        "cost_per_contact": Decimal("20"),
        "cost_to_serve": Decimal("100"),
    } | kw
    return roi_assumption_save(assumption=None, data=fields, by=owner)


def test_roi_summary_prices_recoveries_and_fixes_with_the_segment_assumptions(leader, dept_a):
    _assumption(leader)
    src = SourceFactory(program=ProgramFactory(department=dept_a))
    now = timezone.now()
    period = Period(now.date() - timedelta(days=90), now.date())
    for status, contacted in (("resolved", True), ("resolved", True), ("unreachable", False)):
        response = scored(source=src, submitted_at=now - timedelta(days=50), nps=2)
        ActionItemFactory(
            department=dept_a,
            response=response,
            status=status,
            first_contacted_at=now - timedelta(days=49) if contacted else None,
        )
    theme = ThemeFactory(slug="late")
    fixed_at = now - timedelta(days=40)
    for days_ago in (65, 60, 55, 45):  # 4 mentions in the 30 days before the fix
        scored(source=src, submitted_at=now - timedelta(days=days_ago), nps=5).themes.add(theme)
    scored(source=src, submitted_at=now - timedelta(days=20), nps=5).themes.add(theme)  # 1 after
    ActionItemFactory(loop="outer", department=dept_a, theme=theme, status="fixed", closed_at=fixed_at)
    summary = roi_summary(department_ids=None, period=period)
    # 2 recovered × 1 000 × (30 − 10) % = 400; (4 − 1) × 20 = 60
    assert summary["inner"][0]["recovered"] == 2 and summary["inner"][0]["detractors"] == 3
    assert summary["revenue_retained"] == Decimal("400.00")
    assert summary["cost_avoided"] == Decimal("60.00")
    assert summary["total"] == Decimal("460.00")
    assert [a.segment for a in summary["unvalidated"]] == ["Default"]


def test_fix_younger_than_the_window_is_not_counted_yet(leader, dept_a):
    _assumption(leader)
    theme = ThemeFactory(slug="fresh")
    ActionItemFactory(loop="outer", department=dept_a, theme=theme, status="fixed", closed_at=timezone.now())
    summary = roi_summary(department_ids=None, period=Period.last_days(30))
    assert summary["outer"] == []


def test_roi_summary_uses_a_constant_number_of_queries(leader, dept_a, django_assert_num_queries):
    _assumption(leader)
    for i in range(5):
        ActionItemFactory(
            loop="outer",
            department=dept_a,
            theme=ThemeFactory(slug=f"t{i}"),
            status="verified",
            closed_at=datetime(2026, 1, 10, tzinfo=UTC),
        )
    with django_assert_num_queries(3):
        roi_summary(department_ids=None, period=Period(date(2026, 1, 1), date(2026, 3, 31)))


def test_finance_validation_records_who_and_when(leader, finance):
    assumption = _assumption(leader)
    assert not assumption.is_validated
    validated = roi_assumption_validate(assumption=assumption, by=finance, note="Checked.")
    assert validated.validated_by == finance and validated.validated_at is not None


def test_editing_a_figure_clears_the_validation(leader, finance):
    assumption = roi_assumption_validate(assumption=_assumption(leader), by=finance, note="Checked.")
    edited = roi_assumption_save(assumption=assumption, data={"cost_per_contact": Decimal("25")}, by=leader)
    assert edited.validated_at is None and edited.validated_by is None


def test_editing_only_the_notes_keeps_the_validation(leader, finance):
    assumption = roi_assumption_validate(assumption=_assumption(leader), by=finance, note="Checked.")
    edited = roi_assumption_save(assumption=assumption, data={"notes": "Source: plan 2026"}, by=leader)
    assert edited.is_validated


def test_only_finance_validates(leader):
    with pytest.raises(PermissionDenied):
        roi_assumption_validate(assumption=_assumption(leader), by=leader, note="Checked.")


def test_ambassador_cannot_edit_assumptions(ambassador):
    with pytest.raises(PermissionDenied):
        _assumption(ambassador)


def test_assumption_page_marks_unvalidated_and_lets_finance_validate(leader, finance_client):
    assumption = _assumption(leader)
    page = finance_client.get("/reports/roi/assumptions/")
    assert "UNVALIDATED" in page.content.decode()
    response = finance_client.post(
        f"/reports/roi/assumptions/{assumption.pk}/validate/",
        {f"assumption-{assumption.pk}-note": "Checked."},
    )
    assert response.status_code == 302
    assumption.refresh_from_db()
    assert assumption.validated_by is not None
    assert "validated by" in finance_client.get("/reports/roi/assumptions/").content.decode()


def test_assumption_form_gives_field_errors_not_a_500(leader_client):
    response = leader_client.post(
        "/reports/roi/assumptions/new/",
        {"segment": "X", "customer_value_per_year": "-5", "churn_rate_detractor": "150"},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "customer_value_per_year" in form.errors and "churn_rate_detractor" in form.errors


def test_leader_creates_an_assumption_through_the_form(leader, leader_client):
    response = leader_client.post(
        "/reports/roi/assumptions/new/",
        {
            "segment": "Enterprise",
            "customer_value_per_year": "50000",
            "churn_rate_detractor": "20",
            "churn_rate_passive": "8",
            "churn_rate_promoter": "3",
            "cost_per_contact": "40",
            "cost_to_serve": "900",
            "currency": "EUR",
            "owner": leader.pk,
        },
    )
    assert response.status_code == 302
    assert RoiAssumption.objects.get(segment="Enterprise").owner == leader


def test_ambassador_gets_403_on_the_edit_form(ambassador_client):
    assert ambassador_client.get("/reports/roi/assumptions/new/").status_code == 403


def test_action_statuses_used_by_the_model_exist():
    assert {"resolved", "fixed", "verified"} <= set(ActionItem.Status.values)


def test_executive_dashboard_marks_unvalidated_assumptions(leader, finance, executive_client):
    assumption = _assumption(leader)
    page = executive_client.get("/dashboard/").content.decode()
    assert "UNVALIDATED" not in page  # no figure uses it yet: nothing to mark
    dept = assumption.department
    assert dept is None
    src = SourceFactory()
    response = scored(source=src, submitted_at=timezone.now(), nps=1)
    ActionItemFactory(
        department=src.program.department,
        response=response,
        status="resolved",
        first_contacted_at=timezone.now(),
    )
    assert "UNVALIDATED" in executive_client.get("/dashboard/").content.decode()
    roi_assumption_validate(assumption=assumption, by=finance, note="Checked.")
    page = executive_client.get("/dashboard/").content.decode()
    assert "UNVALIDATED" not in page and "All assumptions validated by finance" in page


def test_roi_pages_write_money_and_shares_with_the_one_figure_format(leader, leader_client, executive_client):
    """Money in its currency with thousands separators, churn shares as percentages: the same
    helper the success page and the PDF use, not "EUR 1800.00" or "25.00 %"."""
    RoiAssumption.objects.create(
        segment="Default",
        customer_value_per_year=Decimal("12500"),
        churn_rate_detractor=Decimal("25"),
        churn_rate_passive=Decimal("12.5"),
        churn_rate_promoter=Decimal("5"),
        cost_per_contact=Decimal("18"),
        cost_to_serve=Decimal("240"),
        owner=leader,
    )
    page = leader_client.get("/reports/roi/assumptions/").content.decode()
    assert "€12,500" in page and "€18" in page and "€240" in page
    assert "25.0% / 12.5% / 5.0%" in page
    assert "EUR 12,500.00" not in page
    home = executive_client.get("/dashboard/").content.decode()
    assert 'data-testid="roi-revenue">€0<' in home
