"""response_process: analysis, actionability, insight + exactly one owned action, idempotency."""

from __future__ import annotations

import pytest
from django.core import mail

from feedback.models import (
    ActionabilityPolicy,
    ActionInsight,
    ActionItem,
    Insight,
    OutboxEvent,
    Response,
    RoutingRule,
)
from feedback.processing import actionability_reason, response_process
from feedback.themes import themes_match_postgres, themes_match_python
from tests.factories import ResponseFactory, SourceFactory, ThemeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(dept_a):
    return SourceFactory(program__department=dept_a)


def test_a_detractor_becomes_an_insight_with_one_owned_action(source, ambassador):
    response = ResponseFactory(source=source, nps=3)
    response_process(response_id=response.id)
    response.refresh_from_db()
    assert response.status == "processed"
    assert response.nps_band == "detractor"
    insight = Insight.objects.get(response=response)
    action = ActionItem.objects.get(response=response)
    assert insight.owner == ambassador == action.owner
    assert action.loop == "inner"
    assert action.due_at == insight.due_at
    assert action.first_contact_due_at <= action.due_at
    assert ActionInsight.objects.get(action=action).insight == insight
    assert "NPS 3" in insight.reason


def test_processing_twice_changes_nothing(source, ambassador):
    response = ResponseFactory(source=source, nps=2)
    response_process(response_id=response.id)
    first = Response.objects.get(id=response.id)
    response_process(response_id=response.id)
    again = Response.objects.get(id=response.id)
    assert again.updated_at == first.updated_at
    assert Insight.objects.count() == 1
    assert ActionItem.objects.count() == 1


def test_an_updated_response_is_reanalysed_but_never_gets_a_second_action(source, ambassador):
    response = ResponseFactory(source=source, nps=2)
    response_process(response_id=response.id)
    Response.objects.filter(id=response.id).update(status="received", comment="Still awful, very rude staff")
    response_process(response_id=response.id)
    response.refresh_from_db()
    assert response.sentiment < 0
    assert Insight.objects.count() == 1
    assert ActionItem.objects.count() == 1


def test_the_outbox_event_is_marked_processed_with_the_work(source, ambassador):
    response = ResponseFactory(source=source, nps=9, comment="")
    event = OutboxEvent.objects.create(kind="response_process", object_id=response.id)
    response_process(response_id=response.id, event_id=event.id)
    event.refresh_from_db()
    assert event.processed_at is not None


def test_a_promoter_with_a_happy_comment_is_not_an_insight(source, ambassador):
    response = ResponseFactory(source=source, nps=10, comment="Lovely people, great service!")
    response_process(response_id=response.id)
    response.refresh_from_db()
    assert response.status == "processed"
    assert response.sentiment > 0.5
    assert not Insight.objects.exists()


def test_a_very_negative_comment_without_score_is_actionable(source, ambassador):
    response = ResponseFactory(source=source, comment="Horrible, rude and useless staff. I am furious.")
    response_process(response_id=response.id)
    assert "negative comment" in Insight.objects.get().reason


def test_the_default_policy_thresholds():
    policy = ActionabilityPolicy()
    r = Response(nps=6, csat=2, ces=5, comment="")
    assert actionability_reason(response=r, policy=policy) == "NPS 6 (≤ 6); CSAT 2 (≤ 2); CES 5 (≥ 5)"
    assert actionability_reason(response=Response(nps=7, csat=3, ces=4), policy=policy) == ""


def test_an_edited_policy_changes_what_is_actionable(source, ambassador):
    ActionabilityPolicy.objects.update_or_create(pk=1, defaults={"nps_max": 8})
    response = ResponseFactory(source=source, nps=8, comment="")
    response_process(response_id=response.id)
    assert Insight.objects.filter(response=response).exists()


def test_a_score_on_another_scale_is_judged_by_its_band(ambassador, dept_a):
    source = SourceFactory(program__department=dept_a, scales={"csat": [1, 10]})
    response = ResponseFactory(source=source, csat=2, comment="")
    response_process(response_id=response.id)
    response.refresh_from_db()
    assert response.csat_band == "low"
    assert "low on its scale" in Insight.objects.get().reason


def test_themes_are_matched_with_stemming(source, ambassador):
    late = ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery\nnever arrived")
    ThemeFactory(name="Billing", slug="billing", keywords="invoice\ncharged twice")
    response = ResponseFactory(source=source, nps=4, comment="Two late deliveries this month.")
    response_process(response_id=response.id)
    assert list(response.themes.all()) == [late]
    assert list(Insight.objects.get().themes.all()) == [late]


COMMENTS = [
    "Two late deliveries this month",
    "The delivery was late",
    "I was charged twice on my invoices",
    "Nobody called him back after the complaint",
    "They never called me back",
    "Onboarding was confusing and slow",
    "The app crashed again, a real bug",
    "Rude staff at the counter",
    "",
    "Lovely!",
]
PHRASES = ["late delivery", "charged twice", "invoice", "called me back", "onboarding", "crash", "rude staff"]


@pytest.mark.parametrize("comment", COMMENTS)
def test_python_and_postgres_theme_matching_agree(comment):
    themes = [ThemeFactory(name=f"T{i}", slug=f"t{i}", keywords=phrase) for i, phrase in enumerate(PHRASES)]
    python = {t.slug for t in themes_match_python(text=comment, themes=themes)}
    postgres = {t.slug for t in themes_match_postgres(text=comment, themes=themes)}
    assert python == postgres


def test_touchpoint_and_department_come_from_the_hints(source, ambassador_b, dept_b):
    response = ResponseFactory(source=source, nps=1, department=None, department_hint="Billing")
    response_process(response_id=response.id)
    response.refresh_from_db()
    assert response.department == dept_b


def test_with_no_rule_and_no_default_the_insight_falls_back_to_the_ambassador_and_says_why(
    source, ambassador
):
    response = ResponseFactory(source=source, nps=0)
    response_process(response_id=response.id)
    insight = Insight.objects.get()
    assert insight.owner == ambassador
    assert insight.routing_rule is None
    assert "No rule matched" in insight.routing_note


def test_with_no_ambassador_the_cx_leader_owns_it(source, leader):
    ResponseFactory(source=source, nps=0)
    response_process(response_id=Response.objects.get().id)
    assert Insight.objects.get().owner == leader


def test_the_owner_is_emailed_about_the_new_action(source, ambassador, django_capture_on_commit_callbacks):
    response = ResponseFactory(source=source, nps=1)
    with django_capture_on_commit_callbacks(execute=True):
        response_process(response_id=response.id)
    assert [m.to for m in mail.outbox] == [[ambassador.email]]
    assert mail.outbox[0].subject.startswith("New action")


def test_outer_only_rules_create_no_inner_action(source, dept_a, ambassador):
    RoutingRule.objects.create(name="All outer", is_default=True, department=dept_a, loops="outer")
    response = ResponseFactory(source=source, nps=1)
    response_process(response_id=response.id)
    assert Insight.objects.get().loops == "outer"
    assert not ActionItem.objects.exists()


def test_a_failing_response_is_marked_failed_and_the_event_keeps_the_error(source):
    # No user at all can own it: routing refuses, the transaction rolls back, a trace remains.
    response = ResponseFactory(source=source, nps=1)
    event = OutboxEvent.objects.create(kind="response_process", object_id=response.id)
    with pytest.raises(Exception, match="Nobody can own"):
        response_process(response_id=response.id, event_id=event.id)
    response.refresh_from_db()
    event.refresh_from_db()
    assert response.status == "failed"
    assert event.processed_at is None
    assert "Nobody can own" in event.last_error
    assert not Insight.objects.exists()


def test_a_failed_response_is_processed_when_published_again(source):
    response = ResponseFactory(source=source, nps=1)
    with pytest.raises(Exception, match="Nobody can own"):
        response_process(response_id=response.id)
    UserFactory(username="root", is_superuser=True)
    response_process(response_id=response.id)
    assert ActionItem.objects.get().owner.username == "root"


def test_a_deleted_response_is_quietly_skipped():
    event = OutboxEvent.objects.create(kind="response_process", object_id=999999)
    assert response_process(response_id=999999, event_id=event.id) is None
    event.refresh_from_db()
    assert event.processed_at is not None
