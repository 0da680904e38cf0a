"""Routing rules: ordered, first match wins, default, owner modes, preview."""

from __future__ import annotations

import pytest

from charter.roles import Role
from feedback.models import Insight, RoutingRule
from feedback.processing import response_process
from feedback.routing import rule_matches, rule_preview
from tests.factories import CustomerFactory, ResponseFactory, SourceFactory, ThemeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(dept_a):
    return SourceFactory(program__department=dept_a)


def _process(response):
    response_process(response_id=response.id)
    return Insight.objects.get(response=response)


def test_the_first_matching_rule_by_position_wins(source, dept_a, dept_b, ambassador, ambassador_b):
    RoutingRule.objects.create(name="Second", position=2, department=dept_a, score_band="detractor")
    RoutingRule.objects.create(name="First", position=1, department=dept_b, score_band="detractor")
    insight = _process(ResponseFactory(source=source, nps=2))
    assert insight.routing_rule.name == "First"
    assert insight.department == dept_b
    assert insight.owner == ambassador_b


def test_a_rule_whose_condition_fails_is_skipped(source, dept_a, dept_b, ambassador, ambassador_b):
    RoutingRule.objects.create(name="Promoters", position=1, department=dept_b, score_band="promoter")
    RoutingRule.objects.create(name="Detractors", position=2, department=dept_a, score_band="detractor")
    assert _process(ResponseFactory(source=source, nps=2)).routing_rule.name == "Detractors"


def test_the_default_rule_catches_what_nothing_else_matched(source, dept_a, dept_b, ambassador, ambassador_b):
    RoutingRule.objects.create(name="Default", position=0, is_default=True, department=dept_b)
    RoutingRule.objects.create(name="Other source", position=5, department=dept_a, source=SourceFactory())
    insight = _process(ResponseFactory(source=source, nps=2))
    assert insight.routing_rule.name == "Default"
    assert "(default)" in insight.routing_note


def test_inactive_rules_are_ignored(source, dept_a, dept_b, ambassador, ambassador_b):
    RoutingRule.objects.create(name="Off", position=1, department=dept_b, is_active=False)
    assert _process(ResponseFactory(source=source, nps=2)).routing_rule is None


def test_a_named_owner_gets_it_with_the_rule_priority(source, dept_a, ambassador):
    person = UserFactory(username="named")
    RoutingRule.objects.create(
        name="Named", department=dept_a, owner_mode="user", owner=person, priority="urgent"
    )
    insight = _process(ResponseFactory(source=source, nps=2))
    assert insight.owner == person
    assert insight.priority == "urgent"


def test_round_robin_turns_through_the_departments_action_owners(source, dept_a, ambassador):
    owners = [UserFactory(username=f"o{i}", role=Role.OWNER) for i in range(3)]
    dept_a.members.add(*owners)
    dept_a.members.add(UserFactory(username="not-an-owner"))
    RoutingRule.objects.create(name="RR", is_default=True, department=dept_a, owner_mode="round_robin")
    picked = [_process(ResponseFactory(source=source, nps=1)).owner.username for _ in range(4)]
    assert picked == ["o0", "o1", "o2", "o0"]


def test_round_robin_without_owners_falls_back_to_the_ambassador(source, dept_a, ambassador):
    RoutingRule.objects.create(name="RR", is_default=True, department=dept_a, owner_mode="round_robin")
    insight = _process(ResponseFactory(source=source, nps=1))
    assert insight.owner == ambassador
    assert "no action owners" in insight.routing_note


def test_theme_and_sentiment_conditions(source, dept_a, dept_b, ambassador, ambassador_b):
    theme = ThemeFactory(name="Billing error", slug="billing-error", keywords="charged twice")
    RoutingRule.objects.create(
        name="Billing", position=1, department=dept_b, theme=theme, sentiment="negative"
    )
    insight = _process(ResponseFactory(source=source, nps=3, comment="I was charged twice, terrible!"))
    assert insight.department == dept_b
    other = _process(ResponseFactory(source=source, nps=3, comment="Delivery was slow"))
    assert other.department == dept_a


def test_customer_attribute_condition(source, dept_a, dept_b, ambassador, ambassador_b):
    RoutingRule.objects.create(
        name="VIP",
        position=1,
        department=dept_b,
        customer_attribute="tier",
        customer_attribute_value="gold",
    )
    vip = ResponseFactory(source=source, nps=3, customer=CustomerFactory(attributes={"tier": "Gold"}))
    assert _process(vip).department == dept_b
    normal = ResponseFactory(source=source, nps=3, customer=CustomerFactory(attributes={"tier": "basic"}))
    assert _process(normal).department == dept_a


def test_rule_matches_works_on_an_unsaved_rule(source, dept_a):
    response = ResponseFactory(source=source, nps=9, nps_band="promoter")
    assert rule_matches(rule=RoutingRule(department=dept_a, score_band="promoter"), response=response)
    assert not rule_matches(rule=RoutingRule(department=dept_a, score_band="detractor"), response=response)


def test_preview_counts_matching_recent_responses_in_constant_queries(
    source, dept_a, django_assert_num_queries
):
    ResponseFactory.create_batch(5, source=source, nps_band="detractor")
    ResponseFactory.create_batch(3, source=source, nps_band="promoter")
    rule = RoutingRule(department=dept_a, score_band="detractor")
    with django_assert_num_queries(2):
        matched, looked_at, sample = rule_preview(rule=rule)
    assert (matched, looked_at, len(sample)) == (5, 8, 5)
