"""Issue 22 in the browser: the executive dashboard and the success page say how sure each
figure is (n, margin, too few answers, partial month, progress in words), with a 200-character
measure name, at 1440 px and 390 px, axe-clean, without widening the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from missions.models import MeasureActual
from reports.measures import measure_actuals_compute
from tests.browser.conftest import a11y, login, shot
from tests.factories import ProgramFactory, SourceFactory, SuccessMeasureFactory
from tests.reports.helpers import scored

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = (
    "Relationship NPS of small-business customers in the first year after onboarding, measured " * 3
)[:200]


@pytest.fixture
def figures(dept_a, executive):  # type: ignore[no-untyped-def]
    today = timezone.now().date()
    m0 = today.replace(day=1)
    m1 = (m0 - dt.timedelta(days=1)).replace(day=1)
    m2 = (m1 - dt.timedelta(days=1)).replace(day=1)
    nps = SuccessMeasureFactory(name=LONG_NAME, kind="nps", unit="pts", baseline_value=18, target_value=42,
                                owner_department=dept_a)  # fmt: skip
    source = SourceFactory(program=ProgramFactory(success_measure=nps, department=dept_a))
    at = lambda d: timezone.make_aware(dt.datetime.combine(d, dt.time(12)))  # noqa: E731
    for score, n in ((10, 20), (8, 12), (3, 8)):  # m2: NPS 30.0, n 40
        for _ in range(n):
            scored(source=source, submitted_at=at(m2 + dt.timedelta(days=2)), nps=score)
    for _ in range(2):  # m1: too few
        scored(source=source, submitted_at=at(m1 + dt.timedelta(days=2)), nps=0)
    scored(source=source, submitted_at=at(m0), nps=10)  # this month: partial
    measure_actuals_compute(measure=nps)
    churn = SuccessMeasureFactory(name="Churn rate", kind="churn", unit="%", direction="lower",
                                  baseline_value=Decimal("13.5"), target_value=10)  # fmt: skip
    MeasureActual.objects.create(measure=churn, date=m0 - dt.timedelta(days=1), value=Decimal("17.7"))
    return {"nps": nps, "churn": churn}


@pytest.fixture(params=[1440, 390], ids=["1440px", "390px"])
def sized_page(request, browser: Browser, live_server) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    width = request.param
    context = browser.new_context(
        base_url=live_server.url,
        bypass_csp=True,
        viewport={"width": width, "height": 900},
        is_mobile=width < 500,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.width = width  # type: ignore[attr-defined]
    yield page
    context.close()


def _no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than the viewport"


def test_executive_sees_sized_dated_figures(sized_page: Page, figures) -> None:  # type: ignore[no-untyped-def]
    page, width = sized_page, sized_page.width  # type: ignore[attr-defined]
    login(page, "executive")
    page.goto("/dashboard/?days=90")
    nps_row = page.get_by_test_id(f"scorecard-{figures['nps'].pk}")
    expect(nps_row.get_by_test_id("latest-value")).to_have_text("30.0 points")  # m2, not the partial month
    expect(nps_row).to_contain_text("n = 40")
    expect(nps_row.get_by_test_id("progress")).to_have_text("50.0% of the way")
    churn_row = page.get_by_test_id(f"scorecard-{figures['churn'].pk}")
    expect(churn_row.get_by_test_id("progress")).to_contain_text(
        "4.2 points further from target than the baseline"
    )
    expect(page.get_by_test_id("chart-nps")).to_contain_text("partial")
    _no_horizontal_scroll(page)
    a11y(page, context=f"executive dashboard, issue 22 figures, {width}px")
    page.screenshot(path=str(shot(page, f"figures-dashboard-{width}")), full_page=True)

    page.goto("/success/")
    row = page.get_by_test_id(f"measure-{figures['nps'].pk}")
    expect(row).to_contain_text("30.0 points")
    expect(row.get_by_test_id("progress")).to_have_text("50.0% of the way")
    _no_horizontal_scroll(page)
    a11y(page, context=f"success page, issue 22 figures, {width}px")
    page.screenshot(path=str(shot(page, f"figures-success-{width}")), full_page=True)
