"""CX Charter: RACI inline editing, ranked priorities, decisions, versions with snapshot, PDF."""

from __future__ import annotations

import io
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from charter.documents import document_approve, document_draft_update
from charter.models import CharterVersion, Decision, Priority, RaciAssignment, User
from charter.services import (
    charter_draft_create,
    charter_submit,
    priority_move,
    priority_reorder,
    raci_cell_set,
)
from tests.factories import CharterRoleFactory, GovernanceActivityFactory, PriorityFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _ranks() -> list[str]:
    return list(Priority.objects.order_by("rank").values_list("title", flat=True))


# --- RACI ----------------------------------------------------------------------------------------


def test_raci_cell_is_set_changed_and_cleared(leader: User) -> None:
    activity, role = GovernanceActivityFactory(), CharterRoleFactory()
    raci_cell_set(activity=activity, role=role, value="r", by=leader)
    raci_cell_set(activity=activity, role=role, value="C", by=leader)
    assert RaciAssignment.objects.get().value == "C"
    raci_cell_set(activity=activity, role=role, value="", by=leader)
    assert not RaciAssignment.objects.exists()


def test_an_activity_has_only_one_accountable_role(leader: User) -> None:
    activity = GovernanceActivityFactory(name="Approve the mission")
    raci_cell_set(activity=activity, role=CharterRoleFactory(), value="A", by=leader)
    with pytest.raises(ValidationError, match="already has an accountable role"):
        raci_cell_set(activity=activity, role=CharterRoleFactory(), value="A", by=leader)


def test_raci_rejects_values_outside_raci(leader: User) -> None:
    with pytest.raises(ValidationError):
        raci_cell_set(activity=GovernanceActivityFactory(), role=CharterRoleFactory(), value="X", by=leader)


def test_only_leaders_edit_the_raci(executive: User) -> None:
    with pytest.raises(PermissionDenied):
        raci_cell_set(
            activity=GovernanceActivityFactory(), role=CharterRoleFactory(), value="R", by=executive
        )


def test_htmx_click_on_a_cell_saves_and_returns_the_cell(leader_client: Client) -> None:
    activity, role = GovernanceActivityFactory(), CharterRoleFactory()
    url = reverse("charter:raci-cell", kwargs={"activity_pk": activity.pk, "role_pk": role.pk})
    response = leader_client.post(url, {"value": "R"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith("<td") and "<html" not in body
    assert 'name="value" value="A"' in body  # the next click moves R → A
    assert RaciAssignment.objects.get().value == "R"


def test_raci_cell_works_as_a_plain_form_post(leader_client: Client) -> None:
    activity, role = GovernanceActivityFactory(), CharterRoleFactory()
    url = reverse("charter:raci-cell", kwargs={"activity_pk": activity.pk, "role_pk": role.pk})
    response = leader_client.post(url, {"value": "I"})
    assert response.status_code == 302 and response["Location"].endswith("#raci")
    assert RaciAssignment.objects.get().value == "I"


def test_refused_raci_value_shows_the_message_in_the_cell(leader: User, leader_client: Client) -> None:
    activity = GovernanceActivityFactory()
    raci_cell_set(activity=activity, role=CharterRoleFactory(), value="A", by=leader)
    other = CharterRoleFactory()
    url = reverse("charter:raci-cell", kwargs={"activity_pk": activity.pk, "role_pk": other.pk})
    htmx = leader_client.post(url, {"value": "A"}, HTTP_HX_REQUEST="true").content.decode()
    assert "already has an accountable role" in htmx and 'value="C"' in htmx
    plain = leader_client.post(url, {"value": "A"})
    assert plain.status_code == 400 and "already has an accountable role" in plain.content.decode()


def test_non_leader_cannot_post_a_raci_cell(executive_client: Client) -> None:
    activity, role = GovernanceActivityFactory(), CharterRoleFactory()
    url = reverse("charter:raci-cell", kwargs={"activity_pk": activity.pk, "role_pk": role.pk})
    assert executive_client.post(url, {"value": "R"}).status_code == 403


# --- priorities ---------------------------------------------------------------------------------


def test_moving_a_priority_up_swaps_it_with_its_neighbour(leader: User) -> None:
    _a, _b, c = (PriorityFactory(title=t) for t in "ABC")
    priority_move(priority=c, direction="up", by=leader)
    assert _ranks() == ["A", "C", "B"]
    assert list(Priority.objects.order_by("rank").values_list("rank", flat=True)) == [1, 2, 3]


def test_moving_the_top_priority_up_changes_nothing(leader: User) -> None:
    a, _b = PriorityFactory(title="A"), PriorityFactory(title="B")
    priority_move(priority=a, direction="up", by=leader)
    assert _ranks() == ["A", "B"]


def test_reorder_sets_the_whole_ranking(leader: User) -> None:
    a, b, c = (PriorityFactory(title=t) for t in "ABC")
    priority_reorder(order=[c.pk, a.pk, b.pk], by=leader)
    assert _ranks() == ["C", "A", "B"]


def test_reorder_must_name_every_priority_once(leader: User) -> None:
    a, _b = PriorityFactory(), PriorityFactory()
    with pytest.raises(ValidationError, match="every priority"):
        priority_reorder(order=[a.pk, a.pk], by=leader)


def test_only_leaders_rank_priorities(ambassador: User) -> None:
    with pytest.raises(PermissionDenied):
        priority_move(priority=PriorityFactory(), direction="down", by=ambassador)


def test_htmx_move_returns_the_reordered_list(leader_client: Client) -> None:
    PriorityFactory(title="First"), PriorityFactory(title="Second")
    second = Priority.objects.get(title="Second")
    response = leader_client.post(
        reverse("charter:priority-move", kwargs={"pk": second.pk}),
        {"direction": "up"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert body.strip().startswith('<ol id="priority-list"')
    assert body.index("Second") < body.index("First")


def test_move_without_javascript_redirects_back_to_the_charter(leader_client: Client) -> None:
    PriorityFactory(title="First")
    second = PriorityFactory(title="Second")
    response = leader_client.post(
        reverse("charter:priority-move", kwargs={"pk": second.pk}), {"direction": "up"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#priorities")
    assert _ranks() == ["Second", "First"]


def test_bad_direction_is_a_400(leader_client: Client) -> None:
    p = PriorityFactory()
    response = leader_client.post(
        reverse("charter:priority-move", kwargs={"pk": p.pk}), {"direction": "sideways"}
    )
    assert response.status_code == 400


def test_new_priority_goes_to_the_bottom(leader_client: Client, dept_a) -> None:  # type: ignore[no-untyped-def]
    existing = PriorityFactory(title="Existing")
    data = {"title": "New one", "department": dept_a.pk, "success_measure": existing.success_measure.pk}
    assert leader_client.post(reverse("charter:priority-new"), data).status_code == 302
    assert _ranks() == ["Existing", "New one"]


def test_priorities_api_round_trip_and_reorder(leader_client: Client, owner_client: Client, dept_a) -> None:  # type: ignore[no-untyped-def]
    first = PriorityFactory(title="A")
    measure = first.success_measure
    created = leader_client.post(
        "/api/v1/priorities/",
        {"title": "B", "department": dept_a.pk, "success_measure": measure.pk},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["rank"] == first.rank + 1
    ids = [p["id"] for p in leader_client.get("/api/v1/priorities/").json()]
    reordered = leader_client.post(
        "/api/v1/priorities/reorder/", {"order": ids[::-1]}, content_type="application/json"
    )
    assert [p["title"] for p in reordered.json()] == ["B", "A"]
    moved = leader_client.post(
        f"/api/v1/priorities/{ids[0]}/move/", {"direction": "top"}, content_type="application/json"
    )
    assert [p["title"] for p in moved.json()] == ["A", "B"]
    assert (
        owner_client.post(
            "/api/v1/priorities/reorder/", {"order": ids}, content_type="application/json"
        ).status_code
        == 403
    )
    bad = leader_client.post(
        "/api/v1/priorities/reorder/", {"order": [ids[0]]}, content_type="application/json"
    )
    assert bad.status_code == 400 and "order" in bad.json()


# --- page, versions, PDF -----------------------------------------------------------------------


def test_charter_page_query_count_does_not_grow(leader: User, owner_client: Client) -> None:
    url = reverse("charter:charter")
    activity, role = GovernanceActivityFactory(), CharterRoleFactory()
    raci_cell_set(activity=activity, role=role, value="R", by=leader)
    PriorityFactory()
    few = count_queries(lambda: owner_client.get(url))
    for _ in range(5):
        a, r = GovernanceActivityFactory(), CharterRoleFactory()
        raci_cell_set(activity=a, role=r, value="C", by=leader)
        Decision.objects.create(title="D", decided_on="2026-01-01", rationale="R", priority=PriorityFactory())
    assert count_queries(lambda: owner_client.get(url)) == few


def test_charter_version_snapshots_roles_raci_and_priorities_when_submitted(
    leader: User, executive: User
) -> None:
    role = CharterRoleFactory(name="Executive sponsor")
    activity = GovernanceActivityFactory(name="Approve the mission")
    raci_cell_set(activity=activity, role=role, value="A", by=leader)
    PriorityFactory(title="Call detractors back")
    # the RACI edit opened the draft; the text is written into it
    doc = document_draft_update(
        doc=CharterVersion.objects.get(state="draft"), by=leader, fields={"purpose": "Make CX a discipline."}
    )
    PriorityFactory(title="Added before submit")
    doc = charter_submit(doc=doc, by=leader)
    document_approve(doc=doc, by=executive)
    snapshot = CharterVersion.objects.get().snapshot
    assert snapshot["raci"] == [{"activity": "Approve the mission", "cells": {"Executive sponsor": "A"}}]
    assert [p["title"] for p in snapshot["priorities"]] == ["Call detractors back", "Added before submit"]


def test_charter_diff_includes_the_snapshot(leader: User, executive: User, owner_client: Client) -> None:
    PriorityFactory(title="Old priority")
    document_approve(
        doc=charter_submit(doc=charter_draft_create(by=leader, fields={"purpose": "P"}), by=leader),
        by=executive,
    )
    PriorityFactory(title="New priority")
    charter_submit(doc=charter_draft_create(by=leader), by=leader)
    page = owner_client.get(reverse("charter:charter-diff") + "?a=1&b=2").content.decode()
    assert re.search(r"<ins>\d+\. New priority", page)
    assert not re.search(r"<del>[^<]*Old priority", page)


def test_charter_pdf_text_reads_back(leader: User, executive: User, owner_client: Client) -> None:
    role = CharterRoleFactory(name="Finance partner", responsibilities="Validates the money figures.")
    activity = GovernanceActivityFactory(name="Validate money figures")
    raci_cell_set(activity=activity, role=role, value="A", by=leader)
    PriorityFactory(title="Call every detractor back")
    doc = document_draft_update(
        doc=CharterVersion.objects.get(state="draft"),
        by=leader,
        fields={"purpose": "Make **customer experience** a discipline."},
    )
    document_approve(doc=charter_submit(doc=doc, by=leader), by=executive)
    response = owner_client.get(reverse("charter:charter-pdf"))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 1
    for expected in ("CX Charter", "customer experience", "Finance partner", "Validate money figures",
                     "Call every detractor back", "Version 1"):  # fmt: skip
        assert expected in text


def test_charter_api_returns_published_version_and_lists(
    leader: User, executive: User, owner_client: Client
) -> None:
    PriorityFactory(title="P1")
    document_approve(
        doc=charter_submit(doc=charter_draft_create(by=leader, fields={"purpose": "Why"}), by=leader),
        by=executive,
    )
    data = owner_client.get("/api/v1/charter/contents/").json()
    assert data["published"]["purpose"] == "Why"
    assert [p["title"] for p in data["priorities"]] == ["P1"]
    assert owner_client.get("/api/v1/charter/").json()["snapshot"]["priorities"][0]["title"] == "P1"


def test_raci_api_sets_a_cell(leader_client: Client) -> None:
    activity, role = GovernanceActivityFactory(), CharterRoleFactory(key="sponsor")
    response = leader_client.post(
        "/api/v1/charter/raci/",
        {"activity": activity.pk, "role": role.pk, "value": "A"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()[0]["cells"] == {"sponsor": "A"}


def test_reorder_endpoint_works_as_a_plain_post(leader_client: Client) -> None:
    a, b = PriorityFactory(title="A"), PriorityFactory(title="B")
    response = leader_client.post(reverse("charter:priority-reorder"), {"order": [b.pk, a.pk]})
    assert response.status_code == 302
    assert _ranks() == ["B", "A"]


def test_charter_audit_trail_shows_who_changed_what(leader_client: Client, leader: User) -> None:
    p = PriorityFactory(title="Call back")
    leader_client.post(reverse("charter:priority-edit", kwargs={"pk": p.pk}),
                       {"title": "Call back in 48h", "department": p.department.pk,
                        "success_measure": p.success_measure.pk})  # fmt: skip
    page = leader_client.get(reverse("charter:charter-history")).content.decode()
    assert "Priority: Call back in 48h" in page
    assert "changed (title)" in page
    assert str(leader) in page


def test_charter_audit_trail_query_count_does_not_grow(leader: User, owner_client: Client) -> None:
    url = reverse("charter:charter-history")
    priority_move(priority=PriorityFactory(), direction="up", by=leader)
    few = count_queries(lambda: owner_client.get(url))
    for _ in range(5):
        priority_move(priority=PriorityFactory(), direction="top", by=leader)
    assert count_queries(lambda: owner_client.get(url)) == few
