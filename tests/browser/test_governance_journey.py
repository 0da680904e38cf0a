"""Journey 1: a CX leader drafts the mission, an executive approves it, the leader works the charter."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from charter.documents import document_approve
from charter.services import charter_draft_create, charter_submit, raci_cell_set
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
    page.goto("/charter/draft/")  # the working copy; /charter/ shows only what was approved
    a11y(page, context="charter draft")
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


def test_charter_edit_shows_banner_and_diff_executive_approves_from_inbox_and_page_changes(  # type: ignore[no-untyped-def]
    page: Page, leader, executive
) -> None:
    sponsor = CharterRoleFactory(name="Executive sponsor", responsibilities="Funds the CX priorities.")
    committee = CharterRoleFactory(
        name="Steering committee", responsibilities="Meets monthly; ranks priorities."
    )
    activity = GovernanceActivityFactory(name="Approve the CX roadmap")
    PriorityFactory(title="Call every detractor within 48 hours", rank=1)
    second = PriorityFactory(title="Fix late deliveries at the root", rank=2)
    v1 = charter_draft_create(by=leader, fields={"purpose": "Make customer experience a managed discipline."})
    raci_cell_set(activity=activity, role=sponsor, value="A", by=leader)
    document_approve(doc=charter_submit(doc=v1, by=leader), by=executive)

    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, "leader")
    page.goto("/charter/draft/")
    page.get_by_test_id(f"raci-{activity.pk}-{committee.pk}").get_by_role("button").click()  # · -> R
    expect(page.get_by_test_id(f"raci-{activity.pk}-{committee.pk}").get_by_role("button")).to_have_text("R")
    page.locator(f"#priority-{second.pk}").get_by_test_id("move-up").click()
    expect(page.get_by_test_id("priority").first).to_contain_text(second.title)
    page.goto("/charter/draft/")  # saved, not just redrawn (and back at the top of the page)
    banner = page.get_by_test_id("unpublished-banner")
    expect(banner).to_contain_text("Unpublished changes")
    expect(banner.get_by_test_id("changed-sections")).to_have_text("RACI, Priorities")
    expect(banner.locator("ins", has_text="Steering committee=R")).to_be_visible()
    a11y(page, context="charter draft with unpublished changes")
    shot(page, "charter-draft-banner")

    page.goto("/charter/")  # still the approved version 1, with a pointer to the draft
    expect(page.get_by_test_id("unpublished-banner")).to_contain_text("Version 2 is draft")
    expect(page.get_by_test_id("published-raci")).not_to_contain_text("R")
    expect(page.get_by_test_id("priority").first).to_contain_text("Call every detractor")
    page.locator("#raci").scroll_into_view_if_needed()
    shot(page, "charter-published-before")

    page.goto("/charter/versions/2/")
    page.get_by_label("Decisions policy").fill(
        "The steering committee decides by majority; the sponsor breaks ties."
    )
    page.locator("#submit-for-review").click()  # saves the unsaved policy text first
    expect(page.get_by_test_id("version-state")).to_have_text("In review")

    login(page, "executive")
    bell = page.locator("#inbox-bell")
    expect(bell).to_contain_text("1")
    bell.click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    a11y(page, context="inbox")
    shot(page, "inbox")
    page.get_by_role("button", name="Charter v2 awaits your approval").click()
    expect(page.get_by_role("heading", name="CX Charter, version 2")).to_be_visible()
    expect(page.get_by_test_id("version-content")).to_contain_text("decides by majority")
    page.locator("#approve").click()

    expect(page).to_have_url(re.compile(r"/charter/$"))
    expect(page.get_by_role("status")).to_contain_text("approved and published")
    expect(page.get_by_test_id("unpublished-banner")).to_have_count(0)
    expect(page.get_by_test_id("charter-published")).to_contain_text("Version 2, approved by")
    expect(page.get_by_test_id("charter-published")).to_contain_text("decides by majority")
    expect(page.get_by_test_id("published-raci")).to_contain_text("R")
    expect(page.get_by_test_id("priority").first).to_contain_text(second.title)
    expect(page.locator("#inbox-count")).to_have_count(0)  # the approval request is dealt with
    a11y(page, context="charter published v2")
    shot(page, "charter-published-after")
    page.locator("#raci").scroll_into_view_if_needed()
    shot(page, "charter-published-after-raci")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/inbox/")
    a11y(page, context="inbox (390 px)")
    shot(page, "inbox-mobile")
    login(page, "leader")
    page.goto("/charter/")
    shot(page, "charter-mobile")


def test_leaving_a_draft_with_unsaved_changes_warns_and_submit_keeps_the_edit(page: Page, leader) -> None:  # type: ignore[no-untyped-def]
    from charter.documents import document_draft_create
    from missions.models import MissionVersion

    document_draft_create(model=MissionVersion, by=leader, fields={"statement": "We answer within a day."})
    login(page, "leader")
    page.goto("/mission/versions/1/")
    statement = page.get_by_label("Statement")
    statement.click()
    page.keyboard.press("End")
    page.keyboard.type(" And we call back within an hour.")
    dialogs: list[str] = []

    def dismiss(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/mission/versions/1/$"))  # stayed: the edit is still there
    assert dialogs == ["beforeunload"]
    expect(statement).to_have_value("We answer within a day. And we call back within an hour.")
    page.locator("#submit-for-review").click()  # no warning: submitting saves the edit
    expect(page.get_by_test_id("version-state")).to_have_text("In review")
    expect(page.get_by_test_id("version-content")).to_contain_text("we call back within an hour")
    assert dialogs == ["beforeunload"]
