"""Journey 6: triage with the keyboard only, and the inbox and dashboard on a 390-px phone.

Shortcuts (``static/cxgov/triage.js``): j/k move the current row, x ticks it, a and c open the
bulk assign / close fields for the ticked (or current) rows, / focuses the search, ? shows
the help. On a phone the page itself never scrolls sideways; wide tables scroll in their box.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from feedback.models import ActionItem
from feedback.scoring import band_for
from tests.browser.conftest import a11y, login, shot
from tests.factories import ActionItemFactory, ResponseFactory, SourceFactory, ThemeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def actions(dept_a, ambassador, owner) -> list[ActionItem]:  # type: ignore[no-untyped-def]
    now = timezone.now()
    theme = ThemeFactory(name="Late delivery")
    source = SourceFactory(program__department=dept_a, name="Delivery survey")
    items = []
    for n, (nps, comment) in enumerate(
        [
            (2, "The parcel was a week late and the tracking never updated."),
            (4, "Nobody answered the phone when I called about my refund."),
            (6, "Fine in the end, but it took three calls to sort out."),
        ]
    ):
        response = ResponseFactory(
            source=source,
            nps=nps,
            nps_band=band_for(metric="nps", value=nps),
            comment=comment,
            submitted_at=now - timedelta(days=n + 1),
        )
        items.append(
            ActionItemFactory(
                title=f"Call back customer {n + 1}",
                department=dept_a,
                owner=owner,
                theme=theme,
                response=response,
                due_at=now + timedelta(hours=4 + n),  # sorted by due date: 1, 2, 3
            )
        )
    return items


def _row(page: Page, action: ActionItem):  # type: ignore[no-untyped-def]
    return page.locator(f"#action-row-{action.pk}")


def test_keyboard_only_triage_moves_assigns_closes_searches_and_shows_help(
    page: Page, actions: list[ActionItem], ambassador, owner
) -> None:  # type: ignore[no-untyped-def]
    first, second, _third = actions
    page.on("dialog", lambda dialog: dialog.accept())  # the bulk "you can undo it" confirmation
    login(page, "ambassador")
    page.goto("/triage/")
    expect(page.get_by_test_id("inbox-table").locator("tbody tr")).to_have_count(3)
    page.locator("h1").click()  # focus the page, not a field (shortcuts ignore typing in fields)

    page.keyboard.press("?")
    help_dialog = page.locator("#shortcut-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next / previous action")
    a11y(page, context="triage shortcut help")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("j")
    expect(_row(page, first)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("j")
    expect(_row(page, second)).to_have_class("current")
    expect(_row(page, first)).not_to_have_class("current")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(_row(page, second)).to_have_attribute("aria-selected", "true")
    expect(_row(page, second)).to_be_focused()

    page.keyboard.press("a")  # assign the current row: owner picker focused
    expect(page.locator("#id_operation")).to_have_value("assign")
    expect(page.locator("#id_owner")).to_be_focused()
    expect(page.locator(f"#select-{second.pk}")).to_be_checked()
    page.keyboard.type(str(ambassador))  # type-ahead in the focused <select>
    expect(page.locator("#id_owner")).to_have_value(str(ambassador.pk))
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("bulk-apply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(_row(page, second)).to_contain_text(str(ambassador))
    expect(page.get_by_test_id("undo")).to_be_visible()
    second.refresh_from_db()
    assert second.owner == ambassador

    # wait until htmx has finished swapping and settling the table, or j lands on the old rows
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.keyboard.press("j")  # the table was swapped: j starts again at the top
    expect(_row(page, first)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("c")  # close the current row with a reason
    expect(page.locator("#id_operation")).to_have_value("close")
    expect(page.locator("#id_reason")).to_be_focused()
    page.keyboard.type("Duplicate of a complaint already handled by phone")
    page.keyboard.press("Enter")
    expect(_row(page, first)).to_have_count(0)  # closed: gone from the Open tab
    first.refresh_from_db()
    assert first.status == ActionItem.Status.NO_ACTION
    assert first.close_reason == "Duplicate of a complaint already handled by phone"

    page.locator("h1").click()
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.keyboard.type("refund")
    table = page.get_by_test_id("inbox-table")
    expect(table.locator("tbody tr")).to_have_count(1)  # searched as you type (htmx)
    expect(table).to_contain_text(second.title)  # "...about my refund."
    a11y(page, context="triage after keyboard work")
    shot(page, "triage-keyboard")


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url}: the page is {width}px wide on a 390px screen"


def test_inbox_and_dashboard_fit_a_390px_phone(mobile_page: Page, actions: list[ActionItem], leader) -> None:  # type: ignore[no-untyped-def]
    page = mobile_page
    login(page, "ambassador")
    page.goto("/triage/")
    expect(page.get_by_test_id("inbox-table").locator("tbody tr")).to_have_count(3)
    _no_horizontal_overflow(page)
    a11y(page, context="triage on a phone")
    shot(page, "triage-mobile")

    login(page, "leader")
    page.goto("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("CX leader dashboard")
    expect(page.get_by_test_id("chart-nps")).to_be_visible()
    _no_horizontal_overflow(page)
    a11y(page, context="dashboard on a phone")
    shot(page, "dashboard-mobile")
