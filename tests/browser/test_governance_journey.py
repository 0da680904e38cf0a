"""Journey 1: a CX leader drafts the mission, an executive approves it, the leader works the charter."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import a11y, login, shot
from tests.factories import CharterRoleFactory, GovernanceActivityFactory, PriorityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_leader_drafts_mission_executive_approves_and_it_is_published(page: Page, leader, executive) -> None:  # type: ignore[no-untyped-def]
    login(page, "leader")
    page.goto("/mission/")
    expect(page.locator("#mission-published")).to_contain_text("No mission statement has been published yet")
    a11y(page, context="mission (empty)")
    page.locator("#new-draft").click()
    page.get_by_label("Statement").fill("We make every customer feel heard, and we prove it by acting.")
    page.get_by_label("Narrative").fill("Feedback becomes **owned action** within two working days.")
    page.get_by_role("button", name="Save draft").click()
    a11y(page, context="mission draft")
    page.locator("#submit-for-review").click()
    expect(page.get_by_test_id("version-state")).to_have_text("In review")

    login(page, "executive")
    page.goto("/mission/")
    page.get_by_test_id("work-link").click()
    a11y(page, context="mission review")
    page.locator("#approve").click()
    expect(page.get_by_role("status")).to_contain_text("approved and published")

    page.goto("/mission/")
    published = page.get_by_test_id("mission-published")
    expect(published).to_contain_text("We make every customer feel heard")
    expect(published.locator("strong", has_text="owned action")).to_be_visible()
    shot(page, "mission")


def test_leader_edits_raci_inline_and_reorders_priorities(page: Page, leader) -> None:  # type: ignore[no-untyped-def]
    activity = GovernanceActivityFactory(name="Approve the CX roadmap")
    role = CharterRoleFactory(name="Steering committee")
    first = PriorityFactory(title="Call every detractor within 48 hours", rank=1)
    second = PriorityFactory(title="Fix late deliveries at the root", rank=2)

    login(page, "leader")
    page.goto("/charter/")
    a11y(page, context="charter")
    cell = page.get_by_test_id(f"raci-{activity.pk}-{role.pk}")
    cell.get_by_role("button").click()  # · -> R, swapped in place by htmx
    expect(page.get_by_test_id(f"raci-{activity.pk}-{role.pk}").get_by_role("button")).to_have_text("R")
    page.get_by_test_id(f"raci-{activity.pk}-{role.pk}").get_by_role("button").click()
    expect(page.get_by_test_id(f"raci-{activity.pk}-{role.pk}").get_by_role("button")).to_have_text("A")

    priorities = page.get_by_test_id("priority")
    expect(priorities.first).to_contain_text(first.title)
    page.locator(f"#priority-{second.pk}").get_by_test_id("move-up").click()
    expect(page.get_by_test_id("priority").first).to_contain_text(second.title)
    page.reload()  # the order was saved, not just redrawn
    expect(page.get_by_test_id("priority").first).to_contain_text(second.title)
    expect(page.get_by_test_id(f"raci-{activity.pk}-{role.pk}").get_by_role("button")).to_have_text("A")
    shot(page, "charter")
