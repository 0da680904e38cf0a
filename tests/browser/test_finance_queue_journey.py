"""Journey: a finance partner lands on the validation queue, reads what changed since the last
validation of a measure with a 200-character name, returns one figure with a question, and
validates another with a note; the CX leader sees the question at home. At 1440 px and
390 px, axe-core clean, nothing wider than the viewport."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from missions.models import SuccessMeasure
from missions.services import success_measure_save, success_measure_validate
from reports.models import RoiAssumption
from reports.services import roi_assumption_save
from tests.browser.conftest import a11y, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = (
    "Share of enterprise customers in the German, Austrian and Swiss region who renew their "
    "annual contract within thirty days of its end date, measured on the signed renewal and "
    "not on the invoice Q4 2026"
)


@pytest.fixture
def figures(leader, finance) -> dict:  # type: ignore[no-untyped-def]
    assert len(LONG_NAME) == 200
    measure = success_measure_save(
        measure=SuccessMeasure(
            name=LONG_NAME,
            kind="retention",
            unit="%",
            baseline_value=Decimal("86.5"),
            baseline_date=dt.date(2026, 1, 1),
            target_value=Decimal("90"),
            target_date=dt.date(2027, 6, 30),
        ),
        by=leader,
    ).measure
    success_measure_validate(measure=measure, by=finance, note="Renewal list of 2025 checked.")
    measure.refresh_from_db()
    measure.baseline_value = Decimal("84.9")
    success_measure_save(measure=measure, by=leader)
    assumption = roi_assumption_save(
        assumption=None,
        data={
            "segment": "All customers",
            "customer_value_per_year": Decimal("1200"),
            "churn_rate_detractor": Decimal("25"),
            "churn_rate_passive": Decimal("12"),
            "churn_rate_promoter": Decimal("5"),
            "cost_per_contact": Decimal("18"),
            "cost_to_serve": Decimal("240"),
        },
        by=leader,
    )
    return {"measure": measure, "assumption": assumption}


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.evaluate("() => window.innerWidth")
    assert width <= viewport, f"page is {width}px wide in a {viewport}px viewport"


@pytest.mark.parametrize(("width", "height", "name"), [(1440, 900, "desktop"), (390, 844, "mobile")])
def test_finance_validates_and_returns_from_the_queue(
    page: Page, figures: dict, width: int, height: int, name: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    login(page, "finance")
    expect(page.get_by_role("heading", name="Figures waiting for your validation")).to_be_visible()
    measure, assumption = figures["measure"], figures["assumption"]
    item = page.locator(f"#measure-{measure.pk}")
    expect(item.get_by_role("heading", name=LONG_NAME)).to_be_visible()
    expect(item.get_by_test_id("changes")).to_contain_text("Baseline value: 86.50 → 84.90")
    expect(item).to_contain_text("Renewal list of 2025 checked.")
    expect(item.get_by_test_id("now")).to_contain_text(
        "baseline 84.9% on 1 Jan 2026; target 90.0% by 30 Jun 2027"
    )
    _no_horizontal_overflow(page)
    a11y(page, context=f"finance queue {name}")
    shot(page, f"finance-queue-{name}")

    other = page.locator(f"#assumption-{assumption.pk}")
    other.get_by_label("Your question to the CX leader").fill("Is 25 % detractor churn yearly?")
    other.get_by_role("button", name="Return with a question").click()
    expect(page.get_by_role("status")).to_contain_text("Returned to the CX leader")
    expect(page.locator(f"#assumption-{assumption.pk}").get_by_test_id("returned")).to_be_visible()

    item = page.locator(f"#measure-{measure.pk}")
    note = item.get_by_label("What you checked")
    item.get_by_role("button", name="Validate").click()  # no note yet: the browser asks for one
    assert note.evaluate("el => !el.validity.valid && el.validationMessage !== ''")
    expect(page.locator(f"#measure-{measure.pk}")).to_have_count(1)
    item.get_by_label("What you checked").fill("New baseline matches the Q4 renewal list.")
    item.get_by_label("Evidence link (optional)").fill("https://erp.example/renewals/q4")
    item.get_by_role("button", name="Validate").click()
    expect(page.get_by_role("status")).to_contain_text("Validated")
    expect(page.locator(f"#measure-{measure.pk}")).to_have_count(0)
    _no_horizontal_overflow(page)
    if name == "desktop":
        shot(page, "finance-queue-after")

    login(page, "leader")
    returned = page.get_by_test_id("returned-questions")
    expect(returned).to_contain_text("Is 25 % detractor churn yearly?")
    a11y(page, context=f"leader home with a returned question {name}")
    if name == "desktop":
        shot(page, "leader-returned-question")
    assert RoiAssumption.objects.get(pk=assumption.pk).is_returned
