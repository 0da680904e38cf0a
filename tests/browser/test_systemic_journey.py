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
    expect(card.get_by_test_id(f"tell-link-{action.pk}")).to_be_visible()  # next: tell the customers
    a11y(page, context="systemic board after close")
    shot(page, "systemic-closed")

    card.get_by_role("link", name=action.title).click()
    expect(page.get_by_test_id("status")).to_have_text("Fixed, awaiting verification")
    expect(page.get_by_role("region", name="Root cause and fix")).to_contain_text("last van leaves before")
    a11y(page, context="systemic action detail (fixed)")
    action.refresh_from_db()
    assert action.status == ActionItem.Status.FIXED
    assert action.success_measure == measure and action.verification_date.isoformat() == verify_on


def _customers_behind(action: ActionItem, dept, owner) -> dict:  # type: ignore[no-untyped-def]
    """Three customers behind a fixed systemic action: two reachable, one unsubscribed."""
    from feedback.models import ActionInsight, EmailSuppression, Insight
    from tests.factories import CustomerFactory, ResponseFactory

    made = {}
    for key, name, email in (
        ("ana", "Ana Ruiz", "ana@example.org"),
        ("bo", "Bo Chen", "bo@example.org"),
        ("gone", "Gail Gone", "gail@example.org"),
    ):
        response = ResponseFactory(
            source__program__department=dept, customer=CustomerFactory(name=name, email=email)
        )
        insight = Insight.objects.create(
            response=response, department=dept, owner=owner, due_at=timezone.now(), systemic_action=action
        )
        inner = ActionItemFactory(
            department=dept, owner=owner, response=response, title=f"Call back {name}", status="assigned"
        )
        ActionInsight.objects.create(action=inner, insight=insight)
        made[key] = inner
    EmailSuppression.objects.create(email="gail@example.org", reason="unsubscribed")
    return made


def _fixed_systemic(dept_a, leader) -> ActionItem:  # type: ignore[no-untyped-def]
    return ActionItemFactory(
        loop="outer",
        title="Deliveries arrive late in the north region",
        department=dept_a,
        owner=leader,
        theme=ThemeFactory(name="Late delivery"),
        status=ActionItem.Status.FIXED,
        root_cause="The last van leaves before the late trucks arrive.",
        fix="A second evening van leaves the north depot since Monday.",
        due_at=timezone.now() + timedelta(days=10),
    )


def test_leader_tells_customers_previews_sends_and_sees_deliveries(page: Page, leader, dept_a) -> None:  # type: ignore[no-untyped-def]
    from django.core import mail

    from feedback.models import CustomerDelivery

    action = _fixed_systemic(dept_a, leader)
    inner = _customers_behind(action, dept_a, leader)
    page.set_viewport_size({"width": 1440, "height": 1000})
    login(page, "leader")
    page.goto("/systemic/")
    card = page.get_by_test_id(f"systemic-{action.pk}")
    card.get_by_test_id(f"tell-link-{action.pk}").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tell the customers about the fix")
    recipients = page.get_by_test_id("recipients")
    expect(recipients).to_contain_text("ana@example.org")
    expect(recipients).to_contain_text("bo@example.org")
    expect(page.get_by_test_id("excluded")).to_contain_text("Suppressed: Unsubscribed")
    preview = page.get_by_test_id("tell-preview")
    expect(preview.get_by_test_id("preview-to")).to_have_text("Ana Ruiz <ana@example.org>")
    expect(preview.get_by_test_id("preview-body")).to_contain_text("Hello Ana Ruiz")
    expect(preview.get_by_test_id("preview-body")).to_contain_text("second evening van")
    a11y(page, context="tell customers: compose and preview")

    form = page.get_by_test_id("tell-form")
    form.get_by_label("Preview as").select_option(label="Bo Chen <bo@example.org>")
    expect(preview.get_by_test_id("preview-to")).to_have_text("Bo Chen <bo@example.org>")  # htmx swap
    form.get_by_label("Subject").fill("{name}, we fixed the late deliveries")
    form.get_by_role("button", name="Preview").click()  # works without htmx too
    expect(page.get_by_test_id("preview-subject")).to_have_text("Bo Chen, we fixed the late deliveries")
    shot(page, "tell-customers-preview-1440")

    page.get_by_test_id("send-button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer e-mails about the fix")
    expect(page.get_by_test_id("delivery-counts")).to_contain_text("2 sent")
    expect(page.get_by_test_id("open-loops")).to_contain_text("Never contacted")
    expect(page.get_by_test_id("open-loops")).to_contain_text("Call back Gail Gone")
    a11y(page, context="customer e-mail deliveries")
    shot(page, "tell-customers-deliveries-1440")

    sent = sorted(m.to[0] for m in mail.outbox if "List-Unsubscribe" in m.extra_headers)
    assert sent == ["Ana Ruiz <ana@example.org>", "Bo Chen <bo@example.org>"]
    assert set(CustomerDelivery.objects.values_list("status", flat=True)) == {"sent"}
    for item in inner.values():
        item.refresh_from_db()
        assert item.is_open  # telling about the fix works no follow-up
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("delivery-counts")).to_contain_text("2 sent")
    a11y(page, context="customer e-mail deliveries, phone")
    shot(page, "tell-customers-deliveries-390")


def test_tell_customers_page_on_a_phone(mobile_page: Page, leader, dept_a) -> None:  # type: ignore[no-untyped-def]
    action = _fixed_systemic(dept_a, leader)
    _customers_behind(action, dept_a, leader)
    login(mobile_page, "leader")
    mobile_page.goto(f"/systemic/{action.pk}/tell/")
    expect(mobile_page.get_by_test_id("preview-body")).to_contain_text("Hello Ana Ruiz")
    a11y(mobile_page, context="tell customers on a phone")
    mobile_page.get_by_test_id("tell-preview").scroll_into_view_if_needed()
    shot(mobile_page, "tell-customers-preview-390")
