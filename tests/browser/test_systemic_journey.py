"""Journey 4: a CX leader closes a systemic (outer-loop) action with its root cause and fix.

Closing needs the root cause, the fix, the success measure that should move and a future
date to verify it; what is missing comes back as field errors in place, all at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from feedback.models import ActionItem
from tests.browser.conftest import a11y, login, shot
from tests.factories import ActionItemFactory, SuccessMeasureFactory, ThemeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_leader_closes_a_systemic_action_with_root_cause_and_fix(page: Page, leader, dept_a) -> None:  # type: ignore[no-untyped-def]
    measure = SuccessMeasureFactory(name="On-time delivery rate")
    action = ActionItemFactory(
        loop="outer",
        title="Deliveries arrive late in the north region",
        department=dept_a,
        owner=leader,
        theme=ThemeFactory(name="Late delivery"),
        status=ActionItem.Status.INVESTIGATING,
        due_at=timezone.now() + timedelta(days=10),
    )
    verify_on = (timezone.localdate() + timedelta(days=30)).isoformat()

    login(page, "leader")
    page.goto("/systemic/")
    card = page.get_by_test_id(f"systemic-{action.pk}")
    expect(card).to_contain_text("Investigating")
    expect(page.get_by_role("heading", level=2, name="Late delivery")).to_be_visible()
    a11y(page, context="systemic board")

    card.get_by_text("Close with root cause and fix").click()  # opens the <details>
    card.get_by_role("button", name="Close as fixed").click()  # nothing filled: every gap named
    card = page.get_by_test_id(f"systemic-{action.pk}")
    expect(card.locator(".field-errors")).to_have_count(4)
    expect(card).to_contain_text("Record the root cause")
    expect(card).to_contain_text("Link the success measure")
    a11y(page, context="systemic close form with errors")

    form = card.get_by_test_id(f"close-form-{action.pk}")
    form.get_by_label("Root cause").fill("The north depot's last van leaves before the late trucks arrive.")
    form.get_by_label("Fix").fill("A second evening van from the north depot since Monday.")
    form.get_by_label("Success measure").select_option(label=measure.name)
    form.get_by_label("Verification date").fill(verify_on)
    form.get_by_role("button", name="Close as fixed").click()

    card = page.get_by_test_id(f"systemic-{action.pk}")
    expect(card.locator(".badge").first).to_have_text("Fixed, awaiting verification")
    expect(card).to_contain_text("A second evening van")
    expect(card).to_contain_text(measure.name)
    expect(card.get_by_test_id(f"tell-form-{action.pk}")).to_be_visible()  # next: tell the customers
    a11y(page, context="systemic board after close")
    shot(page, "systemic-closed")

    card.get_by_role("link", name=action.title).click()
    expect(page.get_by_test_id("status")).to_have_text("Fixed, awaiting verification")
    expect(page.get_by_role("region", name="Root cause and fix")).to_contain_text("last van leaves before")
    a11y(page, context="systemic action detail (fixed)")
    action.refresh_from_db()
    assert action.status == ActionItem.Status.FIXED
    assert action.success_measure == measure and action.verification_date.isoformat() == verify_on
