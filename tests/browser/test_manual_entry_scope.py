"""Manual entry as an ambassador (issue 24, finding 1): typing another department's customer's
e-mail logs the feedback against a new customer record holding only what was typed; the other
department's customer (name, id) is never shown and nothing says the e-mail was known."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from charter.roles import Role
from feedback.models import Response
from tests.browser.conftest import a11y, login, shot
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    ProgramFactory,
    ResponseFactory,
    SourceFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ambassador_logs_feedback_with_another_departments_customer_email(page: Page) -> None:
    support = DepartmentFactory(name="Support", slug="support")
    billing = DepartmentFactory(name="Billing", slug="billing")
    ambassador = UserFactory(username="sam", role=Role.AMBASSADOR, first_name="Sam")
    support.ambassadors.add(ambassador)
    support.members.add(ambassador)
    ProgramFactory(name="Support calls", slug="support-calls", department=support)
    billing_source = SourceFactory(slug="billing-survey", program__department=billing)
    bob = CustomerFactory(
        source=billing_source, external_id="B-5975", email="bob@example.org", name="Bob Billing"
    )
    ResponseFactory(source=billing_source, customer=bob, external_id="b-1", nps=2)

    login(page, "sam")
    page.goto("/feedback/new/")
    page.get_by_label("Program").select_option(label="Support calls")
    page.get_by_label("Channel").select_option("phone")
    page.get_by_label("What the customer said").fill("Asked why the refund takes two weeks.")
    page.get_by_label("Customer email").fill("bob@example.org")
    page.get_by_role("button", name="Log feedback").click()
    expect(page.get_by_text("Feedback logged.")).to_be_visible()
    card = page.get_by_test_id("customer-card")
    expect(card).to_contain_text("bob@example.org")  # what Sam typed, nothing more
    expect(page.locator("body")).not_to_contain_text("Bob Billing")
    expect(page.locator("body")).not_to_contain_text("B-5975")
    a11y(page, context="manual entry result")
    shot(page, "h5-manual-entry-other-department-customer")
    entered = Response.objects.get(entered_by=ambassador)
    assert entered.customer is not None and entered.customer != bob


def test_a_qualtrics_event_shows_its_completed_date_beside_the_receipt_time(page: Page) -> None:
    """Issue 23: the page's heading is the vendor's completion time (CompletedDate, read in the
    source's zone), and "Received" is when the event reached us."""
    from pathlib import Path

    from django.test import Client

    support = DepartmentFactory(name="Support", slug="support")
    UserFactory(username="lee", role=Role.CX_LEADER)
    source = SourceFactory(
        slug="qualtrics-utc", kind="qualtrics", secret="kyma4ever", program__department=support
    )
    body = (
        Path(__file__).resolve().parents[1]
        / "fixtures"
        / "vendors"
        / "qualtrics"
        / "completed_response_signed.form"
    ).read_bytes()
    reply = Client().post(
        f"/api/v1/intake/{source.slug}/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 202
    response = Response.objects.get(source=source)
    login(page, "lee")
    page.goto(f"/responses/{response.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Response from 2019-06-25 07:58")
    shot(page, "h5-qualtrics-event-completed-date")
