"""Mission and success-statement versions over the API: round trip, permissions, 409s."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_mission_round_trip_through_the_api(leader_client: Client, executive_client: Client) -> None:
    assert leader_client.get("/api/v1/mission/").status_code == 404
    created = leader_client.post(
        "/api/v1/mission/versions/", {"statement": "We call you back."}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    patched = leader_client.patch(
        f"/api/v1/mission/versions/{number}/",
        {"narrative": "Within 48 hours."},
        content_type="application/json",
    )
    assert patched.json()["narrative"] == "Within 48 hours."
    assert leader_client.post(f"/api/v1/mission/versions/{number}/submit/").json()["state"] == "in_review"
    approved = executive_client.post(f"/api/v1/mission/versions/{number}/approve/")
    assert approved.status_code == 200 and approved.json()["decided_by"] == "executive"
    published = leader_client.get("/api/v1/mission/").json()
    assert published["statement"] == "We call you back." and published["state"] == "published"


def test_invalid_transition_is_409_with_a_message(leader_client: Client, executive_client: Client) -> None:
    leader_client.post("/api/v1/mission/versions/", {"statement": "x"}, content_type="application/json")
    response = executive_client.post("/api/v1/mission/versions/1/approve/")
    assert response.status_code == 409
    assert "in review" in response.json()["state"][0]


def test_patching_a_version_in_review_is_409(leader_client: Client) -> None:
    leader_client.post("/api/v1/mission/versions/", {"statement": "x"}, content_type="application/json")
    leader_client.post("/api/v1/mission/versions/1/submit/")
    response = leader_client.patch(
        "/api/v1/mission/versions/1/", {"statement": "y"}, content_type="application/json"
    )
    assert response.status_code == 409


def test_non_leaders_cannot_create_drafts_over_the_api(
    executive_client: Client, owner_client: Client
) -> None:
    for client in (executive_client, owner_client):
        response = client.post(
            "/api/v1/mission/versions/", {"statement": "x"}, content_type="application/json"
        )
        assert response.status_code == 403


def test_leader_cannot_approve_over_the_api(leader_client: Client) -> None:
    leader_client.post("/api/v1/mission/versions/", {"statement": "x"}, content_type="application/json")
    leader_client.post("/api/v1/mission/versions/1/submit/")
    assert leader_client.post("/api/v1/mission/versions/1/approve/").status_code == 403


def test_return_needs_a_comment_over_the_api(leader_client: Client, executive_client: Client) -> None:
    leader_client.post(
        "/api/v1/success-statement/versions/", {"narrative": "x"}, content_type="application/json"
    )
    leader_client.post("/api/v1/success-statement/versions/1/submit/")
    assert executive_client.post("/api/v1/success-statement/versions/1/return/").status_code == 400
    returned = executive_client.post(
        "/api/v1/success-statement/versions/1/return/",
        {"comment": "Add numbers."},
        content_type="application/json",
    )
    assert returned.json()["state"] == "draft" and returned.json()["review_comment"] == "Add numbers."


def test_unknown_fields_are_400(leader_client: Client) -> None:
    response = leader_client.post(
        "/api/v1/mission/versions/", {"statement": ""}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "statement" in response.json()


def test_anonymous_api_calls_are_refused(client: Client) -> None:
    assert client.get("/api/v1/mission/versions/").status_code in (401, 403)
