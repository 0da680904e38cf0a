"""response_process costs a fixed number of statements, and its per-worker configuration
cache never hides an edit from the next response."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from charter.roles import Role
from feedback.models import ActionabilityPolicy, ActionItem, Insight, RoutingRule, SLAPolicy, Theme
from feedback.pipeline_config import pipeline_config_cached
from feedback.processing import response_process
from feedback.routing import routing_rule_move, routing_rule_save, settings_object_save
from tests.factories import (
    ActionItemFactory,
    DepartmentFactory,
    ResponseFactory,
    SourceFactory,
    ThemeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Per actionable response on PostgreSQL, with the configuration cached and two themes matched:
# lock+read (stamp, insight?, theme links, theme match), owner, UPDATE response, INSERT theme
# links, INSERT insight, INSERT insight themes, INSERT action, INSERT its history record,
# INSERT action<->insight link, INSERT notification, theme locks, open systemic actions, the
# clustering window's count = 13; + SAVEPOINT/RELEASE because the test itself runs in a transaction.
# Issue 25: one response is written by the batch's code (``_batch_write``), which reads the open
# systemic actions and then counts the window; the single path's own clusterer read both in one
# statement: 14 -> 15.
STATEMENTS = 15


@pytest.fixture
def source(dept_a):
    return SourceFactory(program__department=dept_a)


@pytest.fixture
def themes():
    return [
        ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery\ntracking"),
        ThemeFactory(name="Refunds", slug="refunds", keywords="refund\ncharged twice"),
    ]


def _statements(source) -> int:
    """Statements for one actionable response, after a first one has warmed the cache."""
    warm, measured = (
        ResponseFactory(source=source, nps=2, comment="Late delivery again and still no refund.")
        for _ in range(2)
    )
    response_process(response_id=warm.id)
    with CaptureQueriesContext(connection) as captured:
        response_process(response_id=measured.id)
    assert Insight.objects.get(response=measured).themes.count() == 2
    assert ActionItem.objects.filter(response=measured, loop="inner").count() == 1
    return len(captured.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the count is PostgreSQL's")
def test_processing_costs_the_same_statements_whatever_the_configuration_and_actions(
    source, themes, dept_a, dept_b, ambassador
):
    RoutingRule.objects.create(name="Default", is_default=True, department=dept_a)
    few = _statements(source)
    # Far more of everything the pipeline reads: rules, themes, SLA policies, open actions.
    for i in range(15):
        RoutingRule.objects.create(
            name=f"Promoters {i}", position=i + 1, department=dept_b, score_band="promoter"
        )
        other = ThemeFactory(name=f"Other {i}", slug=f"other-{i}", keywords=f"unrelated{i}\nnothing{i} here")
        ActionItemFactory(department=dept_a, loop="outer", theme=other)  # open systemic actions
        ActionItemFactory(department=DepartmentFactory(), loop="outer", theme=themes[0])
    for priority in ("urgent", "high", "normal", "low"):
        SLAPolicy.objects.get_or_create(priority=priority, loop="inner")
    ActionItemFactory.create_batch(20, department=dept_a, loop="inner")
    many = _statements(source)
    assert few == many == STATEMENTS


def test_an_unchanged_configuration_is_read_once(source, themes, ambassador):
    response_process(response_id=ResponseFactory(source=source, nps=2).id)
    first = pipeline_config_cached()
    response_process(response_id=ResponseFactory(source=source, nps=2).id)
    assert pipeline_config_cached() is first


def test_a_new_routing_rule_is_honoured_by_the_very_next_response(
    source, dept_a, dept_b, ambassador, ambassador_b
):
    RoutingRule.objects.create(name="Default", is_default=True, department=dept_a)
    before = ResponseFactory(source=source, nps=2)
    response_process(response_id=before.id)
    assert Insight.objects.get(response=before).department == dept_a
    routing_rule_save(
        rule=RoutingRule(name="Detractors to Billing", department=dept_b, score_band="detractor")
    )
    after = ResponseFactory(source=source, nps=2)
    response_process(response_id=after.id)
    assert Insight.objects.get(response=after).department == dept_b


def test_reordering_rules_is_honoured_by_the_next_response(source, dept_a, dept_b, ambassador, ambassador_b):
    to_a = RoutingRule.objects.create(name="A", position=10, department=dept_a, score_band="detractor")
    RoutingRule.objects.create(name="B", position=20, department=dept_b, score_band="detractor")
    first = ResponseFactory(source=source, nps=2)
    response_process(response_id=first.id)
    assert Insight.objects.get(response=first).department == dept_a
    routing_rule_move(rule=to_a, direction="down")  # bulk update(), no model signal
    second = ResponseFactory(source=source, nps=2)
    response_process(response_id=second.id)
    assert Insight.objects.get(response=second).department == dept_b


def test_theme_policy_and_sla_edits_are_honoured_by_the_next_response(source, themes, dept_a, ambassador):
    response_process(response_id=ResponseFactory(source=source, nps=7, comment="Late delivery").id)
    assert not Insight.objects.exists()  # a passive is not actionable by default

    policy = ActionabilityPolicy.current()
    policy.nps_max = 7
    settings_object_save(obj=policy)
    sla = SLAPolicy(priority="normal", loop="inner", first_contact_hours=1, resolve_days=1)
    settings_object_save(obj=sla)
    theme = Theme.objects.get(slug="refunds")
    theme.keywords = "broken box"
    settings_object_save(obj=theme)

    response = ResponseFactory(source=source, nps=7, comment="It came in a broken box.")
    response_process(response_id=response.id)
    insight = Insight.objects.get(response=response)
    assert list(insight.themes.all()) == [theme]
    action = ActionItem.objects.get(response=response)
    assert action.first_contact_due_at - response.received_at <= timedelta(days=3, hours=1)
    assert action.due_at - response.received_at <= timedelta(days=4)  # one working day (+ weekend)


def test_a_named_owner_who_left_is_not_given_the_next_insight(source, dept_a, ambassador):
    owner = UserFactory(username="named", role=Role.OWNER)
    RoutingRule.objects.create(
        name="Default", is_default=True, department=dept_a, owner_mode="user", owner=owner
    )
    first = ResponseFactory(source=source, nps=2)
    response_process(response_id=first.id)
    assert Insight.objects.get(response=first).owner == owner
    owner.is_active = False
    owner.save(update_fields=["is_active"])  # not configuration: owners are read fresh
    second = ResponseFactory(source=source, nps=2)
    response_process(response_id=second.id)
    assert Insight.objects.get(response=second).owner == ambassador


def test_turning_the_round_robin_cursor_does_not_invalidate_the_cache(source, dept_a, ambassador):
    for name in ("rr1", "rr2"):
        person = UserFactory(username=name, role=Role.OWNER)
        dept_a.members.add(person)
    RoutingRule.objects.create(name="Default", is_default=True, department=dept_a, owner_mode="round_robin")
    responses = [ResponseFactory(source=source, nps=2) for _ in range(3)]
    response_process(response_id=responses[0].id)
    cached = pipeline_config_cached()
    for response in responses[1:]:
        response_process(response_id=response.id)
    assert pipeline_config_cached() is cached
    owners = [Insight.objects.get(response=r).owner.username for r in responses]
    assert owners[0] != owners[1] and owners[0] == owners[2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL query with the ORM")
def test_the_clustering_read_in_sql_agrees_with_the_orm(source, themes, dept_a, dept_b, ambassador):
    from feedback.models import OuterLoopSettings
    from feedback.outer_loop import cluster_state_orm, cluster_state_postgres

    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 50, "window_days": 10})
    now = timezone.now()
    for days_ago in (0, 3, 9, 12, 40):
        response_process(
            response_id=ResponseFactory(
                source=source,
                nps=2,
                comment="Late delivery again and still no refund.",
                submitted_at=now - timedelta(days=days_ago),
            ).id
        )
    quiet = ThemeFactory(name="Quiet", slug="quiet", keywords="nothing matches this")
    open_on = ThemeFactory(name="Open", slug="open", keywords="whatever")
    ActionItemFactory(department=dept_a, loop="outer", theme=open_on)
    ActionItemFactory(department=dept_b, loop="outer", theme=themes[0])  # another department
    some_insight = Insight.objects.order_by("id").first()
    ids = [t.id for t in (*themes, quiet, open_on)]
    for submitted in (now, now - timedelta(days=12), now + timedelta(days=30)):
        for exclude in (None, some_insight.id):
            args = {
                "theme_ids": ids,
                "department_id": dept_a.id,
                "submitted": submitted,
                "window_days": 10,
                "exclude_insight_id": exclude,
            }
            assert cluster_state_postgres(**args) == cluster_state_orm(**args)
    state = cluster_state_postgres(
        theme_ids=ids, department_id=dept_a.id, submitted=now, window_days=10, exclude_insight_id=None
    )
    assert state[themes[0].id] == (None, 3)  # 0, 3 and 9 days ago
    assert state[quiet.id] == (None, 0)
    assert state[open_on.id][0] is not None and state[open_on.id][1] is None


def test_a_theme_keyword_edit_is_honoured_by_the_next_response(source, themes, ambassador):
    for _ in range(2):  # the first one also reads the configuration
        response_process(response_id=ResponseFactory(source=source, nps=2, comment="late delivery").id)
    assert Insight.objects.filter(themes=themes[0]).count() == 2
    # An edit gives a new snapshot, and the lock-and-read query matches its phrases.
    theme = Theme.objects.get(slug="refunds")
    theme.keywords = "broken box"
    settings_object_save(obj=theme)
    response = ResponseFactory(source=source, nps=2, comment="It came in a broken box.")
    response_process(response_id=response.id)
    assert list(Insight.objects.get(response=response).themes.all()) == [theme]
