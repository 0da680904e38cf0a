from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from feedback.models import ActionItem
from tests.browser.conftest import a11y, login
from tests.factories import ActionItemFactory, ResponseFactory, ThemeFactory


def test_tmp_triage_journey(page, ambassador, owner, dept_a):
    theme = ThemeFactory(name="Refunds")
    for i in range(3):
        r = ResponseFactory(
            source__program__department=dept_a, comment=f"Refund {i} late <b>bold</b>", answers={"q": "a"}
        )
        ActionItemFactory(
            department=dept_a,
            owner=ambassador,
            response=r,
            title=f"Call customer {i}",
            theme=theme,
            due_at=timezone.now() + timedelta(hours=5 - 4 * i),
        )
    ActionItemFactory(department=dept_a, owner=ambassador, loop="outer", title="Fix refunds", theme=theme)
    login(page, "ambassador")
    page.goto("/triage/")
    page.screenshot(path="/tmp/h5_inbox.png", full_page=True)
    a11y(page, context="inbox")
    # keyboard
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("tr.current")).to_have_count(1)
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    page.keyboard.type("refund 1")
    expect(page.locator("[data-action-row]")).to_have_count(1)
    assert "q=refund+1" in page.url or "q=refund%201" in page.url
    page.get_by_label("Search comments").fill("")
    expect(page.locator("[data-action-row]")).to_have_count(4)
    page.get_by_test_id("tab-systemic").click()
    expect(page.locator("[data-action-row]")).to_have_count(1)
    assert "tab=systemic" in page.url
    page.go_back()
    expect(page.locator("[data-action-row]")).to_have_count(4)
    # bulk assign via keyboard
    page.locator("body").click()
    page.keyboard.press("j")
    page.keyboard.press("a")
    page.locator("#id_owner").select_option(label=str(owner))
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("bulk-apply").click()
    expect(page.get_by_test_id("undo")).to_be_visible()
    page.screenshot(path="/tmp/h5_after_bulk.png", full_page=True)
    page.get_by_test_id("undo").get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("undo")).to_have_count(0)
    # bulk close without reason -> 400 swapped
    page.locator("input[name=ids]").first.check()
    page.locator("#id_operation").select_option("close")
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("bulk-apply").click()
    expect(page.get_by_text("Say why the selected actions close")).to_be_visible()
    # detail
    page.get_by_role("link", name="Call customer 0").click()
    a11y(page, context="detail")
    page.get_by_test_id("contact-form").get_by_label("Channel").select_option("phone")
    page.get_by_test_id("contact-form").get_by_label("Outcome").select_option("reached")
    page.get_by_test_id("contact-form").get_by_role("button", name="Log contact").click()
    expect(page.get_by_test_id("status")).to_have_text("Contacted")
    page.get_by_test_id("transition-form").get_by_label("Move to").select_option("resolved")
    page.get_by_test_id("transition-form").get_by_role("button", name="Save status").click()
    expect(page.get_by_test_id("status")).to_have_text("Resolved")
    page.screenshot(path="/tmp/h5_detail.png", full_page=True)
    # conflict
    page.get_by_role("link", name="Call customer 1").count()
    a = ActionItem.objects.get(title="Call customer 1")
    page.goto(f"/actions/{a.pk}/")
    ActionItem.objects.filter(pk=a.pk).update(version=5)
    page.get_by_test_id("transition-form").get_by_label("Move to").select_option("no_action")
    page.get_by_test_id("transition-form").get_by_label("Reason").fill("dup")
    page.get_by_test_id("transition-form").get_by_role("button", name="Save status").click()
    expect(page.get_by_test_id("conflict")).to_be_visible()
    page.goto("/systemic/")
    a11y(page, context="systemic")
    page.screenshot(path="/tmp/h5_systemic.png", full_page=True)
