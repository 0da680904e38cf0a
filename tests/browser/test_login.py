"""Logging in and out in real Chromium, with an accessibility check of the pages seen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import a11y, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_person_logs_in_with_email_sees_navigation_and_logs_out(page: Page, leader) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    a11y(page, context="login")
    shot(page, "login")
    login(page, leader.email)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    a11y(page, context="home")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_wrong_password_is_explained(page: Page, leader) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.get_by_label("Username or e-mail").fill("leader")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
