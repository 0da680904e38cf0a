"""The CX leader's routing settings and the staff pipeline-health page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import (
    ActionabilityPolicy,
    Notification,
    OutboxEvent,
    OuterLoopSettings,
    Response,
    RoutingRule,
    SLAPolicy,
    Theme,
)
from tests.factories import ResponseFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

ROUTING = "/settings/routing/"


def _rule_data(dept, **overrides):
    data = {
        "name": "Detractors to Support",
        "is_active": "on",
        "department": dept.pk,
        "owner_mode": "ambassador",
        "priority": "high",
        "loops": "both",
        "score_band": "detractor",
    }
    data.update(overrides)
    return data


def test_the_cx_leader_sees_the_settings_page(leader_client):
    reply = leader_client.get(ROUTING)
    assert reply.status_code == 200
    assert b"Routing rules" in reply.content
    assert b"No routing rules yet" in reply.content


@pytest.mark.parametrize("who", ["ambassador_client", "owner_client", "executive_client"])
def test_other_roles_are_refused_with_403(request, who):
    assert request.getfixturevalue(who).get(ROUTING).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    reply = client.get(ROUTING)
    assert reply.status_code == 302
    assert "login" in reply["Location"]


def test_the_leader_adds_a_rule_that_goes_last(leader_client, dept_a):
    RoutingRule.objects.create(name="Existing", position=10, department=dept_a)
    reply = leader_client.post("/settings/routing/rules/new/", _rule_data(dept_a))
    assert reply.status_code == 302
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Existing",
        "Detractors to Support",
    ]


def test_a_named_owner_rule_without_a_person_is_a_400_with_a_field_error(leader_client, dept_a):
    reply = leader_client.post("/settings/routing/rules/new/", _rule_data(dept_a, owner_mode="user"))
    assert reply.status_code == 400
    assert b"Choose the person" in reply.content
    assert not RoutingRule.objects.exists()


def test_preview_shows_how_many_recent_responses_match_without_saving(leader_client, dept_a):
    source = SourceFactory(program__department=dept_a)
    ResponseFactory.create_batch(3, source=source, nps=2, nps_band="detractor")
    ResponseFactory.create_batch(2, source=source, nps=10, nps_band="promoter")
    reply = leader_client.post(
        "/settings/routing/rules/new/", {**_rule_data(dept_a), "preview": "1"}, HTTP_HX_REQUEST="true"
    )
    assert reply.status_code == 200
    assert b'data-testid="preview-count">3<' in reply.content
    assert b"of the last 5 responses" in reply.content
    assert b"<html" not in reply.content  # the partial only
    assert not RoutingRule.objects.exists()


def test_preview_also_works_as_a_plain_post(leader_client, dept_a):
    reply = leader_client.post("/settings/routing/rules/new/", {**_rule_data(dept_a), "preview": "1"})
    assert reply.status_code == 200
    assert b"<html" in reply.content
    assert b"No recent response would match" in reply.content


def test_marking_a_rule_default_moves_the_flag(leader_client, dept_a):
    old = RoutingRule.objects.create(name="Old default", is_default=True, department=dept_a)
    reply = leader_client.post(
        "/settings/routing/rules/new/", _rule_data(dept_a, is_default="on", name="New")
    )
    assert reply.status_code == 302, reply.content.decode()[-3000:]
    old.refresh_from_db()
    assert not old.is_default
    assert RoutingRule.objects.get(is_default=True).name == "New"


def test_rules_are_reordered_with_htmx(leader_client, dept_a):
    first = RoutingRule.objects.create(name="First", position=10, department=dept_a)
    RoutingRule.objects.create(name="Second", position=20, department=dept_a)
    reply = leader_client.post(
        f"/settings/routing/rules/{first.pk}/move/", {"direction": "down"}, HTTP_HX_REQUEST="true"
    )
    assert reply.status_code == 200
    assert b'id="rule-list"' in reply.content
    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == [
        "Second",
        "First",
    ]


def test_the_leader_adds_a_theme_with_a_slug_from_its_name(leader_client):
    reply = leader_client.post(
        "/settings/routing/themes/new/",
        {"name": "Late delivery", "keywords": "late delivery", "is_active": "on"},
    )
    assert reply.status_code == 302
    assert Theme.objects.get().slug == "late-delivery"


def test_the_leader_edits_an_sla_policy(leader_client):
    reply = leader_client.post(
        "/settings/routing/sla/urgent/inner/",
        {
            "first_contact_hours": 2,
            "resolve_days": 1,
            "working_days": ["0", "1", "2", "3", "4", "5"],
            "day_start_hour": 8,
            "day_end_hour": 18,
        },
    )
    assert reply.status_code == 302
    policy = SLAPolicy.objects.get(priority="urgent", loop="inner")
    assert policy.working_days == "0,1,2,3,4,5"


def test_an_sla_day_that_ends_before_it_starts_is_refused(leader_client):
    reply = leader_client.post(
        "/settings/routing/sla/urgent/inner/",
        {
            "first_contact_hours": 2,
            "resolve_days": 1,
            "working_days": ["0"],
            "day_start_hour": 18,
            "day_end_hour": 8,
        },
    )
    assert reply.status_code == 400
    assert b"must end after it starts" in reply.content


def test_an_unknown_sla_is_a_404(leader_client):
    assert leader_client.get("/settings/routing/sla/huge/inner/").status_code == 404


def test_the_actionability_policy_is_edited_inline(leader_client):
    reply = leader_client.post(
        "/settings/routing/policy/",
        {"nps_max": 5, "csat_max": 2, "ces_min": 6, "sentiment_max": -0.6},
        HTTP_HX_REQUEST="true",
    )
    assert reply.status_code == 200
    assert b"Saved." in reply.content
    assert ActionabilityPolicy.current().nps_max == 5


def test_a_policy_outside_the_scale_is_a_400(leader_client):
    reply = leader_client.post(
        "/settings/routing/policy/", {"nps_max": 11, "csat_max": 2, "ces_min": 6, "sentiment_max": -0.6}
    )
    assert reply.status_code == 400
    assert b"within the scale 0" in reply.content


def test_outer_loop_settings_are_saved(leader_client):
    reply = leader_client.post("/settings/routing/outer-loop/", {"threshold": 5, "window_days": 14})
    assert reply.status_code == 302
    assert OuterLoopSettings.current().threshold == 5


def test_the_settings_page_uses_constant_queries(leader_client, dept_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert leader_client.get(ROUTING).status_code == 200
        return len(ctx.captured_queries)

    RoutingRule.objects.create(name="R0", position=1, department=dept_a)
    count()  # the first visit creates the policy and outer-loop rows
    few = count()
    for i in range(10):
        RoutingRule.objects.create(name=f"R{i + 1}", position=i + 2, department=dept_a)
        Theme.objects.create(name=f"T{i}", slug=f"t{i}", keywords="x")
    assert count() == few


# --- pipeline health ----------------------------------------------------------------------------


def test_pipeline_health_shows_backlog_stuck_events_and_failed_notifications(leader_client, leader):
    old = OutboxEvent.objects.create(kind="response_process", object_id=1)
    OutboxEvent.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(hours=1))
    Notification.objects.create(
        user=leader,
        channel="email",
        subject="Boom",
        body="b",
        dedupe_key="x",
        status="failed",
        last_error="SMTP down",
    )
    reply = leader_client.get("/settings/pipeline/")
    assert reply.status_code == 200
    assert b"SMTP down" in reply.content
    assert b"Process a response #1" in reply.content


def test_pipeline_health_is_refused_to_ambassadors(ambassador_client):
    assert ambassador_client.get("/settings/pipeline/").status_code == 403


def test_rerun_publishes_stuck_events_through_the_outbox(leader_client, dept_a, ambassador):
    source = SourceFactory(program__department=dept_a)
    response = ResponseFactory(source=source, nps=1)
    event = OutboxEvent.objects.create(kind="response_process", object_id=response.id)
    OutboxEvent.objects.filter(id=event.id).update(created_at=timezone.now() - timedelta(hours=1))
    reply = leader_client.post("/settings/pipeline/rerun/")
    assert reply.status_code == 302
    event.refresh_from_db()
    assert event.processed_at is not None
    assert Response.objects.get(id=response.id).status == "processed"


def test_rerun_retries_failed_notifications(leader_client, leader):
    person = UserFactory(username="target")
    note = Notification.objects.create(
        user=person, channel="email", subject="Hi", body="b", dedupe_key="y", status="gave_up", attempts=8
    )
    leader_client.post("/settings/pipeline/rerun/")
    note.refresh_from_db()
    assert note.status == "sent"
