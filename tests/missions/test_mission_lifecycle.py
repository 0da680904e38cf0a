"""CX Mission Statement: lifecycle, permissions, one published version, history, diffs, Markdown."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from charter.documents import (
    TransitionError,
    document_approve,
    document_diff,
    document_draft_create,
    document_draft_update,
    document_return,
    document_submit,
)
from charter.models import DocState, User
from missions.models import MissionVersion
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _draft(leader: User, statement: str = "We make customers feel looked after.") -> MissionVersion:
    return document_draft_create(model=MissionVersion, by=leader, fields={"statement": statement})


def _published(leader: User, executive: User, statement: str = "Promise one.") -> MissionVersion:
    doc = document_submit(doc=_draft(leader, statement), by=leader)
    return document_approve(doc=doc, by=executive)


def test_leader_creates_a_numbered_draft(leader: User) -> None:
    doc = _draft(leader)
    assert (doc.number, doc.state, doc.created_by) == (1, DocState.DRAFT, leader)


def test_new_draft_starts_from_the_latest_text(leader: User, executive: User) -> None:
    _published(leader, executive, "Old promise.")
    doc = document_draft_create(model=MissionVersion, by=leader)
    assert (doc.number, doc.statement) == (2, "Old promise.")


def test_submit_moves_draft_to_review_and_records_who(leader: User) -> None:
    doc = document_submit(doc=_draft(leader), by=leader)
    assert doc.state == DocState.IN_REVIEW
    assert doc.submitted_by == leader and doc.submitted_at is not None


def test_executive_approval_publishes(leader: User, executive: User) -> None:
    doc = _published(leader, executive)
    assert doc.state == DocState.PUBLISHED
    assert doc.decided_by == executive and doc.published_at is not None


def test_approving_a_new_version_supersedes_the_published_one(leader: User, executive: User) -> None:
    first = _published(leader, executive, "One.")
    second = _published(leader, executive, "Two.")
    first.refresh_from_db()
    assert first.state == DocState.SUPERSEDED and first.superseded_at is not None
    assert second.state == DocState.PUBLISHED
    assert MissionVersion.objects.filter(state=DocState.PUBLISHED).count() == 1


def test_database_refuses_a_second_published_version(leader: User, executive: User) -> None:
    _published(leader, executive)
    with pytest.raises(IntegrityError), transaction.atomic():
        MissionVersion.objects.create(number=9, statement="x", state=DocState.PUBLISHED)


def test_return_to_draft_keeps_the_reviewers_comment(leader: User, executive: User) -> None:
    doc = document_submit(doc=_draft(leader), by=leader)
    doc = document_return(doc=doc, by=executive, comment="Say what we promise in numbers.")
    assert doc.state == DocState.DRAFT
    assert doc.review_comment == "Say what we promise in numbers."


def test_returning_without_a_comment_is_refused(leader: User, executive: User) -> None:
    doc = document_submit(doc=_draft(leader), by=leader)
    with pytest.raises(Exception, match="Say what needs to change"):
        document_return(doc=doc, by=executive, comment="  ")


def test_approving_a_draft_is_an_invalid_transition(leader: User, executive: User) -> None:
    with pytest.raises(TransitionError, match="Only a version in review can be approved"):
        document_approve(doc=_draft(leader), by=executive)


def test_editing_a_published_version_is_refused(leader: User, executive: User) -> None:
    doc = _published(leader, executive)
    with pytest.raises(TransitionError):
        document_draft_update(doc=doc, by=leader, fields={"statement": "sneaky"})


@pytest.mark.parametrize("who", ["executive", "finance", "ambassador", "owner"])
def test_only_cx_leaders_create_drafts(who: str, request: pytest.FixtureRequest) -> None:
    with pytest.raises(PermissionDenied):
        _draft(request.getfixturevalue(who))


@pytest.mark.parametrize("who", ["leader", "finance", "ambassador"])
def test_only_executives_approve(who: str, leader: User, request: pytest.FixtureRequest) -> None:
    doc = document_submit(doc=_draft(leader), by=leader)
    with pytest.raises(PermissionDenied):
        document_approve(doc=doc, by=request.getfixturevalue(who))


def test_diff_shows_changed_lines_side_by_side(leader: User, executive: User) -> None:
    old = _published(leader, executive, "Line one\nLine two")
    new = _draft(leader, "Line one\nLine 2 changed")
    statement = document_diff(old=old, new=new)[0]
    assert statement.changed
    assert [(line.left, line.right, line.kind) for line in statement.lines] == [
        ("Line one", "Line one", "equal"),
        ("Line two", "Line 2 changed", "replace"),
    ]


# --- browser -------------------------------------------------------------------------------------


def test_leader_edits_submits_and_executive_approves_in_the_browser(
    leader_client: Client, executive_client: Client
) -> None:
    response = leader_client.post(reverse("missions:mission-new"), {"statement": "We answer within a day."})
    assert response.status_code == 302
    url = reverse("missions:mission-version", kwargs={"number": 1})
    leader_client.post(
        url, {"statement": "We answer within an hour.", "narrative": "*Fast*", "change_note": ""}
    )
    leader_client.post(reverse("missions:mission-transition", kwargs={"number": 1}), {"action": "submit"})
    response = executive_client.post(
        reverse("missions:mission-transition", kwargs={"number": 1}), {"action": "approve"}
    )
    assert response.status_code == 302
    page = executive_client.get(reverse("missions:mission")).content.decode()
    assert "We answer within an hour." in page
    assert "<em>Fast</em>" in page


def test_invalid_transition_in_the_browser_is_409_with_a_message(
    leader: User, executive_client: Client
) -> None:
    _draft(leader)
    response = executive_client.post(
        reverse("missions:mission-transition", kwargs={"number": 1}), {"action": "approve"}
    )
    assert response.status_code == 409
    assert "Only a version in review can be approved" in response.content.decode()


def test_executive_cannot_edit_a_draft_in_the_browser(leader: User, executive_client: Client) -> None:
    _draft(leader)
    response = executive_client.post(
        reverse("missions:mission-version", kwargs={"number": 1}), {"statement": "hijack"}
    )
    assert response.status_code == 403
    assert MissionVersion.objects.get(number=1).statement != "hijack"


def test_everyone_logged_in_reads_the_published_mission(
    leader: User, executive: User, owner_client: Client, client: Client
) -> None:
    _published(leader, executive, "Customers feel expected.")
    assert "Customers feel expected." in owner_client.get(reverse("missions:mission")).content.decode()
    assert client.get(reverse("missions:mission")).status_code == 302  # anonymous → login


def test_script_in_a_narrative_is_not_rendered_as_html(
    leader: User, executive: User, owner_client: Client
) -> None:
    doc = document_submit(
        doc=document_draft_create(
            model=MissionVersion,
            by=leader,
            fields={
                "statement": "x",
                "narrative": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))",
            },
        ),
        by=leader,
    )
    document_approve(doc=doc, by=executive)
    page = owner_client.get(reverse("missions:mission")).content.decode()
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "javascript:" not in page


def test_diff_page_escapes_html_in_versions(leader: User, executive: User, leader_client: Client) -> None:
    _published(leader, executive, "Plain")
    _draft(leader, "<img src=x onerror=alert(1)>")
    page = leader_client.get(reverse("missions:mission-diff") + "?a=1&b=2").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page


def test_history_page_lists_who_and_when(leader: User, executive: User, owner_client: Client) -> None:
    _published(leader, executive)
    page = owner_client.get(reverse("missions:mission-versions")).content.decode()
    assert str(leader) in page and str(executive) in page


def test_version_page_shows_the_audit_trail(
    leader_client: Client, executive_client: Client, leader: User
) -> None:
    leader_client.post(reverse("missions:mission-new"), {"statement": "First"})
    leader_client.post(reverse("missions:mission-transition", kwargs={"number": 1}), {"action": "submit"})
    doc = MissionVersion.objects.get(number=1)
    records = list(doc.history.order_by("history_date"))
    assert [r.history_user for r in records] == [leader, leader]
    page = executive_client.get(reverse("missions:mission-version", kwargs={"number": 1})).content.decode()
    assert "Audit trail" in page and "submitted_by" in page


def test_history_page_query_count_does_not_grow_with_versions(
    leader: User, executive: User, owner_client: Client
) -> None:
    url = reverse("missions:mission-versions")
    _published(leader, executive, "Promise 0")
    few = count_queries(lambda: owner_client.get(url))
    for i in range(1, 7):
        _published(leader, executive, f"Promise {i}")
    assert count_queries(lambda: owner_client.get(url)) == few


def test_a_second_draft_is_refused_while_one_is_being_worked_on(leader: User, leader_client: Client) -> None:
    document_submit(doc=_draft(leader), by=leader)
    with pytest.raises(TransitionError, match="Version 1 is already in review"):
        _draft(leader)
    response = leader_client.post(reverse("missions:mission-new"), {"statement": "Fork"})
    assert response.status_code == 409
    assert "Version 1 is already in review" in response.content.decode()
    assert MissionVersion.objects.count() == 1


def test_schema_documents_the_governance_endpoints(leader_client: Client) -> None:
    schema = leader_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/mission/versions/{number}/approve/", "/api/v1/success-measures/{id}/validate/",
                 "/api/v1/priorities/reorder/", "/api/v1/charter/contents/", "/api/v1/moments/{id}/feature/",
                 "/api/v1/journey/touchpoints/", "/api/v1/departments/{slug}/goals/"):  # fmt: skip
        assert path in schema, path
