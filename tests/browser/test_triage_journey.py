"""Journey 3: an ambassador works the inbox.

Filter by theme, bulk-assign with undo, open an action, log the call, resolve it (the inner
loop closes); an action of another department is simply not there (the not-found page).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from feedback.models import ActionItem, ContactLog
from tests.browser.conftest import a11y, login, shot
from tests.factories import ActionItemFactory, ResponseFactory, SourceFactory, ThemeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def inbox(dept_a, dept_b, ambassador, owner) -> dict:  # type: ignore[no-untyped-def]
    late = ThemeFactory(name="Late delivery")
    billing = ThemeFactory(name="Billing errors")
    source = SourceFactory(program__department=dept_a, name="Delivery survey")
    response = ResponseFactory(
        source=source, nps=2, comment="My parcel came a week late and nobody called me back."
    )
    called = ActionItemFactory(
        title="Call back Ann about her late parcel",
        department=dept_a,
        owner=owner,
        theme=late,
        response=response,
    )
    second = ActionItemFactory(
        title="Call back Bob about the late van", department=dept_a, owner=owner, theme=late
    )
    other_theme = ActionItemFactory(
        title="Refund Cat's double charge", department=dept_a, owner=owner, theme=billing
    )
    elsewhere = ActionItemFactory(
        title="Billing department's own follow-up", department=dept_b, theme=billing
    )
    return {
        "late": late,
        "called": called,
        "second": second,
        "other_theme": other_theme,
        "elsewhere": elsewhere,
    }


def test_ambassador_filters_by_theme_bulk_assigns_and_undoes(
    page: Page, inbox: dict, ambassador, owner
) -> None:  # type: ignore[no-untyped-def]
    login(page, "ambassador")
    page.goto("/triage/")
    table = page.get_by_test_id("inbox-table")
    expect(table.locator("tbody tr")).to_have_count(3)  # the other department's action is not here
    expect(table).not_to_contain_text(inbox["elsewhere"].title)
    a11y(page, context="triage inbox (ambassador)")

    page.get_by_label("Theme").select_option(label="Late delivery")  # htmx swaps the table
    expect(page.get_by_test_id("inbox-table").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("inbox-table")).not_to_contain_text(inbox["other_theme"].title)
    expect(page).to_have_url(re.compile(rf"/triage/\?.*theme={inbox['late'].pk}"))  # pushed: shareable
    a11y(page, context="triage filtered by theme")

    for action in (inbox["called"], inbox["second"]):
        page.locator(f"#select-{action.pk}").check()
    page.get_by_label("Bulk action").select_option("assign")
    page.locator("#id_owner").select_option(str(ambassador.pk))
    page.once("dialog", lambda dialog: dialog.accept())  # "Apply this change ...? You can undo it."
    page.get_by_test_id("bulk-apply").click()
    for action in (inbox["called"], inbox["second"]):
        expect(page.locator(f"#action-row-{action.pk}")).to_contain_text(str(ambassador))
    undo = page.get_by_test_id("undo")
    expect(undo).to_be_visible()
    assert set(ActionItem.objects.filter(theme=inbox["late"]).values_list("owner", flat=True)) == {
        ambassador.pk
    }
    a11y(page, context="triage after bulk assign (undo offered)")
    shot(page, "triage-bulk-undo")

    undo.get_by_role("button", name="Undo").click()
    for action in (inbox["called"], inbox["second"]):
        expect(page.locator(f"#action-row-{action.pk}")).to_contain_text(str(owner))
    assert set(ActionItem.objects.filter(theme=inbox["late"]).values_list("owner", flat=True)) == {owner.pk}


def test_ambassador_logs_a_call_and_closes_the_inner_loop(page: Page, inbox: dict, ambassador) -> None:  # type: ignore[no-untyped-def]
    action = inbox["called"]
    login(page, "ambassador")
    page.goto("/triage/")
    page.get_by_role("link", name=action.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(action.title)
    expect(page.get_by_test_id("raw-comment")).to_contain_text("a week late")
    expect(page.get_by_test_id("status")).to_have_text("New")
    a11y(page, context="action detail (new)")

    contact = page.get_by_test_id("contact-form")
    contact.get_by_label("Channel").select_option(label="Phone")
    contact.get_by_label("Outcome").select_option(label="Reached the customer")
    contact.get_by_label("Note").fill("Apologised; the courier re-delivers tomorrow morning.")
    contact.get_by_role("button", name="Log contact").click()
    expect(page.get_by_test_id("status")).to_have_text("Contacted")
    expect(page.get_by_test_id("timeline")).to_contain_text("the courier re-delivers tomorrow")
    assert ContactLog.objects.filter(action=action, by=ambassador, channel="phone").exists()

    transition = page.get_by_test_id("transition-form")
    transition.get_by_label("Move to").select_option(label="Resolved")
    transition.get_by_label("Outcome").select_option(label="Problem solved for the customer")
    transition.get_by_label("Yes, the customer was told").check()
    transition.get_by_role("button", name="Save status").click()
    expect(page.get_by_test_id("status")).to_have_text("Resolved")
    expect(page.get_by_test_id("contact-form")).to_have_count(0)  # closed: nothing more to log
    a11y(page, context="action detail (resolved)")
    shot(page, "action-resolved")
    action.refresh_from_db()
    assert action.status == ActionItem.Status.RESOLVED
    assert action.closed_at is not None and action.first_contacted_at is not None


def test_another_departments_action_is_not_found(page: Page, inbox: dict, ambassador) -> None:  # type: ignore[no-untyped-def]
    login(page, "ambassador")
    response = page.goto(f"/actions/{inbox['elsewhere'].pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_text(inbox["elsewhere"].title)).to_have_count(0)
    a11y(page, context="not found page")
    shot(page, "not-found")


def test_an_attempt_keeps_the_clock_resolving_asks_for_the_outcome_and_a_closed_action_reopens(
    page: Page, inbox: dict, ambassador
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    action = inbox["called"]
    ActionItem.objects.filter(pk=action.pk).update(first_contact_due_at=timezone.now() + timedelta(hours=6))
    page.set_viewport_size({"width": 1440, "height": 1000})
    login(page, "ambassador")
    page.goto(f"/actions/{action.pk}/")
    contact = page.get_by_test_id("contact-form")
    contact.get_by_label("Channel").select_option(label="Phone")
    contact.get_by_label("Outcome").select_option(label="Attempt: no answer")
    contact.get_by_role("button", name="Log contact").click()
    expect(page.get_by_role("status")).to_contain_text("Attempt logged")
    expect(page.get_by_test_id("status")).to_have_text("New")  # an attempt is not a contact
    expect(page.get_by_test_id("action-panel")).to_contain_text("left to first contact")

    contact = page.get_by_test_id("contact-form")
    contact.get_by_label("Outcome").select_option(label="Reached the customer")
    contact.get_by_role("button", name="Log contact").click()
    expect(page.get_by_test_id("status")).to_have_text("Contacted")

    transition = page.get_by_test_id("transition-form")
    transition.get_by_label("Move to").select_option(label="Resolved")
    transition.get_by_role("button", name="Save status").click()  # no outcome, no told: both asked
    transition = page.get_by_test_id("transition-form")
    expect(transition).to_contain_text("Say what resolving achieved")
    expect(transition).to_contain_text("Say whether the customer was told")
    a11y(page, context="resolve without outcome")
    transition.get_by_label("Move to").select_option(label="Resolved")
    transition.get_by_label("Outcome").select_option(label="Compensated or goodwill gesture")
    transition.get_by_label("No, not told").check()
    transition.get_by_role("button", name="Save status").click()
    expect(page.get_by_test_id("status")).to_have_text("Resolved")
    expect(page.get_by_test_id("action-panel")).to_contain_text("the customer was not told")

    reopen = page.get_by_test_id("reopen-form")
    reopen.get_by_label("Why reopen it").fill("The voucher never arrived; the customer wrote again.")
    reopen.get_by_role("button", name="Reopen").click()
    expect(page.get_by_test_id("status")).to_have_text("Contacted")
    expect(page.get_by_test_id("timeline")).to_contain_text("Reopened (was Resolved)")
    expect(page.get_by_test_id("timeline")).to_contain_text("Customer told the outcome: No")
    a11y(page, context="action reopened")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "action-reopened-1440")
    action.refresh_from_db()
    assert action.is_open and action.reopenings.count() == 1
