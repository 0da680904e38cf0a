"""/api/v1/actions/: the Public contract shape, filters, department scoping, constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import ActionItem, Insight, OuterLoopSettings
from feedback.processing import response_process
from tests.factories import ActionItemFactory, ResponseFactory, SourceFactory, ThemeFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/actions/"


@pytest.fixture
def source(dept_a):
    return SourceFactory(slug="web-nps", program__department=dept_a)


@pytest.fixture
def inner(source, ambassador):
    response = ResponseFactory(source=source, nps=2)
    response_process(response_id=response.id)
    return ActionItem.objects.get(response=response)


def test_an_inner_action_has_the_public_shape(leader_client, inner):
    body = leader_client.get(URL).json()
    assert body["count"] == 1
    item = body["results"][0]
    assert set(item) == {
        "id",
        "title",
        "loop",
        "status",
        "department",
        "owner",
        "due_at",
        "insights",
        "response",
        "theme",
    }
    assert item["department"] == "support"
    assert item["owner"] == "ambassador"
    assert item["loop"] == "inner"
    assert item["response"] == inner.response_id
    assert item["insights"] == [Insight.objects.get().id]


def test_a_systemic_action_lists_its_insights_and_no_response(leader_client, source, ambassador):
    ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery")
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 2, "window_days": 30})
    for _ in range(2):
        r = ResponseFactory(source=source, nps=2, comment="late delivery again")
        response_process(response_id=r.id)
    item = leader_client.get(URL, {"loop": "outer"}).json()["results"][0]
    assert item["response"] is None
    assert item["theme"] == "late-delivery"
    assert len(item["insights"]) == 2


def test_filters_by_source_department_status_owner_and_overdue(leader_client, inner, dept_b, ambassador_b):
    ActionItemFactory(department=dept_b, owner=ambassador_b, due_at=timezone.now() - timedelta(hours=1))
    assert [a["id"] for a in leader_client.get(URL, {"source": "web-nps"}).json()["results"]] == [inner.id]
    assert leader_client.get(URL, {"department": "billing"}).json()["count"] == 1
    assert leader_client.get(URL, {"owner": "ambassador"}).json()["count"] == 1
    assert leader_client.get(URL, {"status": "new"}).json()["count"] == 2
    assert leader_client.get(URL, {"overdue": "true"}).json()["results"][0]["department"] == "billing"
    assert leader_client.get(URL, {"overdue": "false"}).json()["count"] == 1


def test_an_unknown_filter_value_is_a_400_not_a_500(leader_client):
    reply = leader_client.get(URL, {"loop": "sideways"})
    assert reply.status_code == 400
    assert "loop" in reply.json()


def test_an_ambassador_sees_only_their_departments_actions(ambassador_client, inner, dept_b):
    other = ActionItemFactory(department=dept_b)
    ids = [a["id"] for a in ambassador_client.get(URL).json()["results"]]
    assert ids == [inner.id]
    assert ambassador_client.get(f"{URL}{other.id}/").status_code == 404
    assert ambassador_client.get(f"{URL}{inner.id}/").json()["id"] == inner.id


def test_an_owner_also_sees_actions_they_own_elsewhere(client, dept_b):
    from tests.factories import UserFactory

    person = UserFactory(username="outsider")
    mine = ActionItemFactory(department=dept_b, owner=person)
    ActionItemFactory(department=dept_b)
    client.force_login(person)
    assert [a["id"] for a in client.get(URL).json()["results"]] == [mine.id]


def test_anonymous_callers_are_refused(client):
    assert client.get(URL).status_code in (401, 403)


def test_the_list_uses_constant_queries(leader_client, dept_a):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert leader_client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    ActionItemFactory.create_batch(2, department=dept_a)
    few = count_queries()
    ActionItemFactory.create_batch(20, department=dept_a, loop="outer")
    assert count_queries() == few


def test_the_list_query_count_is_pinned(leader_client, dept_a, django_assert_num_queries):
    ActionItemFactory.create_batch(10, department=dept_a)
    leader_client.get(URL)  # warm the session
    # session, user, groups (roles), count, page, inner links, insights
    with django_assert_num_queries(7):
        leader_client.get(URL)
