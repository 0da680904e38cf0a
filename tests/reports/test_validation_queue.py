"""The finance partner's validation queue (issue 22): where finance lands, what waits, what
changed since the last validation, validating with a note and evidence, returning a figure
with a question the CX leader sees at home, and edits that put a figure back in the queue."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from charter.models import User
from missions.models import SuccessMeasure
from missions.services import success_measure_save, success_measure_validate
from reports.models import RoiAssumption
from reports.services import roi_assumption_save, roi_assumption_validate
from reports.validation import validation_queue
from tests.factories import SuccessMeasureFactory
from tests.querycount import count_queries

QUEUE = "/finance/validation/"


def _measure(leader: User, name: str = "Churn", **kw: object) -> SuccessMeasure:
    fields = {
        "name": name,
        "kind": "churn",
        "unit": "%",
        "direction": "lower",
        "baseline_value": Decimal("13.5"),
        "baseline_date": dt.date(2026, 1, 1),
        "target_value": Decimal("10"),
    } | kw
    return success_measure_save(measure=SuccessMeasure(**fields), by=leader).measure


def _assumption(leader: User, segment: str = "Default") -> RoiAssumption:
    data = {
        "segment": segment,
        "customer_value_per_year": Decimal("1000"),
        "churn_rate_detractor": Decimal("30"),
        "churn_rate_passive": Decimal("10"),
        "churn_rate_promoter": Decimal("5"),
        "cost_per_contact": Decimal("20"),
        "cost_to_serve": Decimal("100"),
    }
    return roi_assumption_save(assumption=None, data=data, by=leader)


def _keys(html: str) -> list[str]:
    return re.findall(r'id="((?:measure|assumption)-\d+)" data-testid="queue-item"', html)


def test_finance_lands_on_the_validation_queue(finance_client: Client) -> None:
    response = finance_client.get("/")
    assert response.status_code == 302 and response["Location"] == QUEUE


def test_other_roles_land_on_their_dashboard_and_cannot_open_the_queue(
    leader_client: Client, executive_client: Client, ambassador_client: Client
) -> None:
    for client in (leader_client, executive_client, ambassador_client):
        assert client.get("/")["Location"] == "/dashboard/"
        assert client.get(QUEUE).status_code == 403


def test_queue_lists_unvalidated_measures_and_assumptions_oldest_first(
    leader: User, finance: User, finance_client: Client
) -> None:
    first = _measure(leader, "Churn")
    second = _assumption(leader, "Retail")
    third = _measure(leader, "Retention", kind="retention", direction="higher")
    done = _measure(leader, "Cost to serve", kind="cost_to_serve")
    success_measure_validate(measure=done, by=finance, note="Checked.")
    page = finance_client.get(QUEUE).content.decode()
    assert _keys(page) == [f"measure-{first.pk}", f"assumption-{second.pk}", f"measure-{third.pk}"]
    assert "Never validated" in page


def test_queue_shows_what_changed_since_the_last_validation_old_to_new_who_and_when(
    leader: User, finance: User, finance_client: Client
) -> None:
    measure = _measure(leader)
    success_measure_validate(measure=measure, by=finance, note="Matches the ledger.")
    measure.refresh_from_db()
    measure.baseline_value = Decimal("14.2")
    measure.unit = "‰"
    success_measure_save(measure=measure, by=leader)
    page = finance_client.get(QUEUE).content.decode()
    item = page[page.index(f'id="measure-{measure.pk}"') :]
    assert f"Changed since {finance} validated it" in item
    assert "Last validation note: “Matches the ledger.”" in item
    assert "Baseline value: <del>13.50</del> → <ins>14.20</ins>" in item
    assert "Unit: <del>%</del> → <ins>‰</ins>" in item
    assert f", {leader}:" in item  # who made the change, after when


def test_validating_with_a_note_and_evidence_is_in_the_audit_trail_and_leaves_the_queue(
    leader: User, finance: User, finance_client: Client
) -> None:
    measure = _measure(leader)
    key = f"measure-{measure.pk}"
    response = finance_client.post(
        f"{QUEUE}measure/{measure.pk}/validate/",
        {f"{key}-note": "Baseline from the 2025 ledger.", f"{key}-evidence_url": "https://erp.example/x/1"},
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.validated_by == finance and measure.validation_note == "Baseline from the 2025 ledger."
    assert measure.validation_evidence_url == "https://erp.example/x/1"
    record = measure.history.order_by("-history_date", "-history_id").first()
    assert record.history_user == finance and record.validation_note == "Baseline from the 2025 ledger."
    assert record.history_change_reason == "Validated by finance: Baseline from the 2025 ledger."
    assert key not in _keys(finance_client.get(QUEUE).content.decode())


def test_validating_an_assumption_records_the_note_in_its_audit_trail(
    leader: User, finance: User, finance_client: Client
) -> None:
    a = _assumption(leader)
    key = f"assumption-{a.pk}"
    response = finance_client.post(f"{QUEUE}assumption/{a.pk}/validate/", {f"{key}-note": "Plan 2026, p. 4."})
    assert response.status_code == 302
    record = a.history.order_by("-history_date", "-history_id").first()
    assert record.validated_by == finance and record.validation_note == "Plan 2026, p. 4."
    assert record.history_user == finance


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "This field is required."),
        ({"note": "   "}, "This field is required."),
        ({"note": "ok", "evidence_url": "javascript:alert(1)"}, "Enter a valid URL."),
    ],
)
def test_validation_without_a_note_or_with_a_bad_link_is_a_400_with_the_field_error(
    leader: User, finance_client: Client, data: dict[str, str], error: str
) -> None:
    measure = _measure(leader)
    key = f"measure-{measure.pk}"
    response = finance_client.post(
        f"{QUEUE}measure/{measure.pk}/validate/", {f"{key}-{k}": v for k, v in data.items()}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    measure.refresh_from_db()
    assert not measure.is_validated


def test_unknown_kind_or_figure_is_404(finance_client: Client) -> None:
    assert finance_client.post(f"{QUEUE}invoice/1/validate/", {"invoice-1-note": "x"}).status_code == 404
    assert finance_client.post(f"{QUEUE}measure/999999/return/", {}).status_code == 404


def test_returned_question_shows_on_the_cx_leaders_home_until_they_edit(
    leader: User, finance: User, finance_client: Client, leader_client: Client
) -> None:
    measure = _measure(leader)
    key = f"measure-{measure.pk}"
    response = finance_client.post(
        f"{QUEUE}measure/{measure.pk}/return/", {f"{key}-question": "Which ledger is the baseline from?"}
    )
    assert response.status_code == 302
    home = leader_client.get("/", follow=True).content.decode()
    assert 'data-testid="returned-questions"' in home
    assert "“Which ledger is the baseline from?”" in home
    queue = finance_client.get(QUEUE).content.decode()
    assert key in _keys(queue) and 'data-testid="returned"' in queue
    measure.refresh_from_db()
    measure.money_assumptions = "Baseline: 2025 general ledger, account 4100."
    success_measure_save(measure=measure, by=leader)
    home = leader_client.get("/", follow=True).content.decode()
    assert "Which ledger" not in home
    assert key in _keys(finance_client.get(QUEUE).content.decode())


def test_return_needs_a_question(leader: User, finance_client: Client) -> None:
    a = _assumption(leader)
    response = finance_client.post(f"{QUEUE}assumption/{a.pk}/return/", {f"assumption-{a.pk}-question": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_editing_a_validated_figure_puts_it_back_in_the_queue(
    leader: User, finance: User, finance_client: Client
) -> None:
    a = roi_assumption_validate(assumption=_assumption(leader), by=finance, note="Checked.")
    assert f"assumption-{a.pk}" not in _keys(finance_client.get(QUEUE).content.decode())
    roi_assumption_save(assumption=a, data={"currency": "USD"}, by=leader)
    page = finance_client.get(QUEUE).content.decode()
    assert f"assumption-{a.pk}" in _keys(page)
    assert "Currency: <del>EUR</del> → <ins>USD</ins>" in page


def test_the_queue_uses_a_constant_number_of_queries(leader: User, finance: User) -> None:
    _measure(leader)
    _assumption(leader)
    few = count_queries(validation_queue)
    for i in range(5):
        m = _measure(leader, f"M{i}")
        m.baseline_value = Decimal(i)
        success_measure_save(measure=m, by=leader)
        _assumption(leader, f"S{i}")
    assert count_queries(validation_queue) == few


def test_a_200_character_name_is_shown_whole(leader: User, finance_client: Client) -> None:
    name = ("Net revenue retained from enterprise customers in the DACH region " * 4)[:200]
    SuccessMeasureFactory(name=name, baseline_value=Decimal("1"), baseline_date=dt.date(2026, 1, 1))
    assert name in finance_client.get(QUEUE).content.decode()


def test_returning_puts_the_question_in_the_cx_leaders_inbox_and_the_answer_in_finances(
    leader: User, finance: User
) -> None:
    from charter.models import InboxItem
    from reports.services import roi_assumption_return

    a = _assumption(leader, "Retail")
    roi_assumption_return(assumption=a, by=finance, question="Is 30 % churn yearly or quarterly?")
    item = InboxItem.objects.get(user=leader, kind="validation_returned")
    assert "Retail" in item.text and "Is 30 % churn yearly or quarterly?" in item.body
    a.refresh_from_db()
    roi_assumption_save(assumption=a, data={"notes": "Yearly, from the 2025 plan."}, by=leader)
    answer = InboxItem.objects.get(user=finance, kind="validation_answered")
    assert f"#assumption-{a.pk}" in answer.url
