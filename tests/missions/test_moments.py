"""Mission Moments: anyone shares, CX leaders feature, featured ones reach the dashboard."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from charter.models import Department, User
from missions.models import MissionMoment
from missions.selectors import moment_featured_list
from missions.services import moment_feature
from tests.factories import MissionMomentFactory, TouchpointFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def test_anyone_logged_in_shares_a_moment(owner_client: Client, owner: User, dept_a: Department) -> None:
    tp = TouchpointFactory(department=dept_a)
    data = {"kind": "lived", "title": "Waited for the customer", "story": "He carried it in.",
            "department": dept_a.pk, "touchpoint": tp.pk}  # fmt: skip
    response = owner_client.post(reverse("missions:moments"), data)
    assert response.status_code == 302
    moment = MissionMoment.objects.get()
    assert moment.submitted_by == owner and not moment.is_featured


def test_touchpoint_of_another_department_is_refused(
    owner_client: Client, dept_a: Department, dept_b: Department
) -> None:
    tp = TouchpointFactory(department=dept_b)
    data = {"kind": "lived", "title": "T", "story": "S", "department": dept_a.pk, "touchpoint": tp.pk}
    response = owner_client.post(reverse("missions:moments"), data)
    assert response.status_code == 400
    assert "Pick a touchpoint of the chosen department" in response.content.decode()


def test_leader_features_a_moment_with_htmx(leader_client: Client) -> None:
    moment = MissionMomentFactory()
    response = leader_client.post(
        reverse("missions:moment-feature", kwargs={"pk": moment.pk}),
        {"featured": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert (
        f'id="moment-{moment.pk}"' in response.content.decode() and "<html" not in response.content.decode()
    )
    assert moment_featured_list() == [moment]


def test_only_leaders_feature(owner: User) -> None:
    with pytest.raises(PermissionDenied):
        moment_feature(moment=MissionMomentFactory(), featured=True, by=owner)


def test_featured_list_is_newest_featured_first(leader: User) -> None:
    first, second, _plain = MissionMomentFactory.create_batch(3)
    moment_feature(moment=first, featured=True, by=leader)
    moment_feature(moment=second, featured=True, by=leader)
    assert moment_featured_list() == [second, first]


def test_moment_story_markdown_is_sanitised(owner_client: Client) -> None:
    MissionMomentFactory(story="<script>alert(1)</script> *kind*")
    page = owner_client.get(reverse("missions:moments")).content.decode()
    assert "<script>alert(1)" not in page and "<em>kind</em>" in page


def test_moment_list_query_count_does_not_grow(owner_client: Client) -> None:
    url = reverse("missions:moments")
    MissionMomentFactory(touchpoint=TouchpointFactory())
    few = count_queries(lambda: owner_client.get(url))
    MissionMomentFactory.create_batch(10, touchpoint=TouchpointFactory())
    assert count_queries(lambda: owner_client.get(url)) == few


def test_moments_api_round_trip(owner_client: Client, leader_client: Client, dept_a: Department) -> None:
    created = owner_client.post(
        "/api/v1/moments/",
        {"kind": "broken", "title": "Late again", "story": "Third time.", "department": dept_a.slug},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert (
        owner_client.post(
            f"/api/v1/moments/{pk}/feature/", {"featured": True}, content_type="application/json"
        ).status_code
        == 403
    )
    featured = leader_client.post(
        f"/api/v1/moments/{pk}/feature/", {"featured": True}, content_type="application/json"
    )
    assert featured.json()["is_featured"] is True
    assert [m["id"] for m in owner_client.get("/api/v1/moments/?featured=true").json()["results"]] == [pk]


def test_featuring_works_as_a_plain_form_post(leader_client: Client) -> None:
    moment = MissionMomentFactory()
    url = reverse("missions:moment-feature", kwargs={"pk": moment.pk})
    response = leader_client.post(url, {"featured": "1"})
    assert response.status_code == 302
    leader_client.post(url, {"featured": "0"})
    assert moment_featured_list() == []
