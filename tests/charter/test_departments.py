"""Departments: own goals first; ambassadors edit only their department's goals (else 404)."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import Client
from django.urls import reverse

from charter.models import Department, DepartmentGoal, User
from charter.services import department_goal_save
from tests.factories import DepartmentFactory, UserFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

GOAL = {
    "title": "Resolve on first contact",
    "metric": "FCR",
    "current_value": "68",
    "target_value": "80",
    "unit": "%",
}


def test_ambassador_adds_a_goal_to_their_own_department(
    ambassador_client: Client, dept_a: Department
) -> None:
    response = ambassador_client.post(reverse("charter:goal-new", kwargs={"slug": dept_a.slug}), GOAL)
    assert response.status_code == 302
    assert dept_a.goals.get().title == "Resolve on first contact"


def test_ambassador_of_b_editing_a_goal_of_a_gets_404(ambassador_b: User, dept_a: Department) -> None:
    goal = DepartmentGoal.objects.create(department=dept_a, title="A's goal")
    client = Client()
    client.force_login(ambassador_b)
    assert client.get(reverse("charter:goal-edit", kwargs={"pk": goal.pk})).status_code == 404
    assert client.post(reverse("charter:goal-edit", kwargs={"pk": goal.pk}), GOAL).status_code == 404
    assert client.post(reverse("charter:goal-new", kwargs={"slug": dept_a.slug}), GOAL).status_code == 404
    assert client.post(reverse("charter:goal-delete", kwargs={"pk": goal.pk})).status_code == 404
    goal.refresh_from_db()
    assert goal.title == "A's goal"


def test_member_who_is_not_ambassador_cannot_edit_goals(owner_client: Client, dept_a: Department) -> None:
    goal = DepartmentGoal.objects.create(department=dept_a, title="A's goal")
    assert owner_client.post(reverse("charter:goal-edit", kwargs={"pk": goal.pk}), GOAL).status_code == 404


def test_leader_edits_any_departments_goal(leader_client: Client, dept_b: Department) -> None:
    goal = DepartmentGoal.objects.create(department=dept_b, title="Old")
    response = leader_client.post(reverse("charter:goal-edit", kwargs={"pk": goal.pk}), GOAL)
    assert response.status_code == 302
    goal.refresh_from_db()
    assert goal.title == GOAL["title"]


def test_service_refuses_moving_a_goal_into_a_foreign_department(
    ambassador: User, dept_a: Department, dept_b: Department
) -> None:
    goal = DepartmentGoal.objects.create(department=dept_b, title="B's goal")
    goal.department = dept_a
    with pytest.raises(Http404):
        department_goal_save(goal=goal, by=ambassador)


def test_goal_edit_records_who_in_the_audit_trail(
    ambassador_client: Client, ambassador: User, dept_a: Department
) -> None:
    ambassador_client.post(reverse("charter:goal-new", kwargs={"slug": dept_a.slug}), GOAL)
    assert dept_a.goals.get().history.first().history_user == ambassador


def test_department_page_lists_goals_first_and_ambassadors(
    ambassador_client: Client, ambassador: User, dept_a: Department
) -> None:
    DepartmentGoal.objects.create(department=dept_a, title="Answer in one day")
    page = ambassador_client.get(
        reverse("charter:department-detail", kwargs={"slug": dept_a.slug})
    ).content.decode()
    assert page.index("Answer in one day") < page.index("Ambassadors")
    assert str(ambassador) in page


def test_department_list_query_count_does_not_grow(leader_client: Client) -> None:
    url = reverse("charter:department-list")
    d = DepartmentFactory()
    DepartmentGoal.objects.create(department=d, title="G")
    few = count_queries(lambda: leader_client.get(url))
    for _ in range(5):
        d = DepartmentFactory()
        d.ambassadors.add(UserFactory())
        DepartmentGoal.objects.create(department=d, title="G")
    assert count_queries(lambda: leader_client.get(url)) == few


def test_departments_api_scopes_and_goal_round_trip(
    ambassador_client: Client, dept_a: Department, dept_b: Department
) -> None:
    slugs = [d["slug"] for d in ambassador_client.get("/api/v1/departments/").json()["results"]]
    assert slugs == [dept_a.slug]
    assert ambassador_client.get(f"/api/v1/departments/{dept_b.slug}/").status_code == 404
    created = ambassador_client.post(
        f"/api/v1/departments/{dept_a.slug}/goals/",
        {"title": "Faster answers"},
        content_type="application/json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    patched = ambassador_client.patch(
        f"/api/v1/goals/{pk}/", {"target_value": "90"}, content_type="application/json"
    )
    assert patched.json()["target_value"] == "90.00"
    foreign = DepartmentGoal.objects.create(department=dept_b, title="B")
    assert (
        ambassador_client.patch(
            f"/api/v1/goals/{foreign.pk}/", {"title": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
