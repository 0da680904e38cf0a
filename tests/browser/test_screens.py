"""Every main screen with the demo organisation loaded: it renders for the role that uses it,
passes axe-core with no serious or critical violation, and is photographed for the README."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.browser.conftest import a11y, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (who, path, screenshot name, a heading the page must show)
SCREENS = [
    ("leader", "/dashboard/", "dashboard-leader", "Dashboard"),
    ("leader", "/mission/", "mission-demo", "CX Mission Statement"),
    ("leader", "/success/", "success", "CX Success Statement"),
    ("leader", "/charter/", "charter-demo", "CX Charter"),
    ("leader", "/departments/", "departments", "Departments"),
    ("leader", "/journey/", "journey", "Journey"),
    ("leader", "/moments/", "moments", "Mission Moments"),
    ("leader", "/maturity/", "maturity", "maturity"),
    ("leader", "/programs/", "programs", "programs"),
    ("leader", "/responses/", "responses", "Responses"),
    ("leader", "/settings/routing/", "routing", "Routing"),
    ("leader", "/systemic/", "systemic", "Systemic"),
    ("leader", "/reports/", "reports", "Reports"),
    ("leader", "/reports/roi/assumptions/", "roi-assumptions", "ROI"),
    ("ambassador", "/triage/", "triage", "Triage"),
    ("ambassador", "/my/", "my-actions", "My actions"),
    ("executive", "/dashboard/", "dashboard-executive", "Dashboard"),
    ("finance", "/success/", "success-finance", "CX Success Statement"),
]


@pytest.fixture
def demo(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_PASSWORD = "pw-for-tests-123"
    call_command("seed_demo", stdout=io.StringIO())


def test_every_main_screen_renders_accessibly_for_its_role(page: Page, demo: None) -> None:
    current = None
    for who, path, name, heading in SCREENS:
        if who != current:
            login(page, who)
            current = who
        response = page.goto(path)
        assert response is not None and response.status == 200, (
            f"{path} as {who}: {response and response.status}"
        )
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading, ignore_case=True)
        a11y(page, context=f"{path} as {who}")
        shot(page, name)


def test_first_action_of_the_inbox_opens_its_detail(page: Page, demo: None) -> None:
    login(page, "ambassador")
    page.goto("/triage/")
    page.locator("a[href^='/actions/']").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    a11y(page, context="action detail")
    shot(page, "action-detail")
