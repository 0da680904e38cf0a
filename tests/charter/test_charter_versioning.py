"""Governed content is versioned content: the published charter is what the executive approved.

Edits of roles, RACI, cadence and priorities (browser and API) go to the open draft; the
published version's snapshot, its page, its PDF and ``GET /api/v1/charter/`` do not move
until an executive approves the draft. Decisions are append-only records.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from pypdf import PdfReader

from charter.documents import document_approve, document_draft_update, document_return
from charter.inbox import inbox_items
from charter.models import (
    CharterRole,
    CharterVersion,
    Decision,
    DocState,
    GovernanceActivity,
    InboxItem,
    Priority,
    User,
)
from charter.services import charter_draft_create, charter_submit, governance_record_save, raci_cell_set
from tests.factories import CharterRoleFactory, GovernanceActivityFactory, PriorityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(leader: User, executive: User) -> CharterVersion:
    """Version 1 approved: one role, one activity (role accountable), two ranked priorities."""
    role = CharterRoleFactory(name="Executive sponsor", responsibilities="Funds the priorities.")
    activity = GovernanceActivityFactory(name="Approve the mission")
    PriorityFactory(title="Call every detractor back", rank=1)
    PriorityFactory(title="Fix the billing portal", rank=2)
    doc = charter_draft_create(by=leader, fields={"purpose": "Make CX a discipline."})
    raci_cell_set(activity=activity, role=role, value="A", by=leader)
    return document_approve(doc=charter_submit(doc=doc, by=leader), by=executive)


def _published_bytes(client: Client) -> tuple[bytes, str]:
    api = client.get("/api/v1/charter/")
    assert api.status_code == 200
    stored = json.dumps(CharterVersion.objects.get(state=DocState.PUBLISHED).snapshot, sort_keys=True)
    return api.content, stored


def _pdf_text(client: Client) -> str:
    response = client.get("/charter/pdf/")
    assert response["Content-Type"] == "application/pdf"
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def _api_edits(leader_client: Client) -> None:
    """The two endpoints that used to change the live charter directly, and a new priority."""
    role, activity = CharterRole.objects.get(), GovernanceActivity.objects.get()
    raci = leader_client.post(
        "/api/v1/charter/raci/",
        json.dumps({"activity": activity.pk, "role": role.pk, "value": "R"}),
        content_type="application/json",
    )
    assert raci.status_code == 200
    order = list(Priority.objects.order_by("-rank").values_list("pk", flat=True))
    reorder = leader_client.post(
        "/api/v1/priorities/reorder/", json.dumps({"order": order}), content_type="application/json"
    )
    assert reorder.status_code == 200, reorder.content


def test_published_charter_stays_byte_identical_while_its_draft_changes(
    published: CharterVersion, leader_client: Client, owner_client: Client
) -> None:
    before = _published_bytes(owner_client)
    _api_edits(leader_client)
    role = CharterRoleFactory.build(name="Steering committee", key="steering")
    response = leader_client.post(
        "/charter/roles/new/", {"name": role.name, "key": role.key, "responsibilities": "Meets monthly."}
    )
    assert response.status_code == 302
    assert _published_bytes(owner_client) == before
    draft = CharterVersion.objects.get(state=DocState.DRAFT)
    assert draft.number == 2
    assert draft.snapshot["priorities"][0]["title"] == "Fix the billing portal"
    assert "Steering committee" in [r["name"] for r in draft.snapshot["roles"]]


def test_page_and_pdf_show_the_approved_snapshot_not_the_draft(
    published: CharterVersion, leader_client: Client, owner_client: Client
) -> None:
    _api_edits(leader_client)
    page = owner_client.get("/charter/").content.decode()
    first, second = page.index("Call every detractor back"), page.index("Fix the billing portal")
    assert first < second  # the approved ranking, not the draft's reordering
    assert "<td>A</td>" in page and "<td>R</td>" not in page
    assert "Unpublished changes" in page and "Priorities" in page
    pdf = _pdf_text(owner_client)
    assert pdf.index("Call every detractor back") < pdf.index("Fix the billing portal")
    assert "Version 1" in pdf


def test_draft_page_shows_the_banner_and_a_diff_against_published(
    published: CharterVersion, leader_client: Client
) -> None:
    _api_edits(leader_client)
    page = leader_client.get("/charter/draft/").content.decode()
    assert 'data-testid="unpublished-banner"' in page
    assert "Version 2 is draft" in page
    assert "<del>Approve the mission: Executive sponsor=A</del>" in page
    assert "<ins>Approve the mission: Executive sponsor=R</ins>" in page


def test_no_banner_when_nothing_is_open(published: CharterVersion, owner_client: Client) -> None:
    assert "Unpublished changes" not in owner_client.get("/charter/").content.decode()


def test_approving_publishes_the_draft_as_the_new_snapshot(
    published: CharterVersion, leader: User, executive: User, leader_client: Client, owner_client: Client
) -> None:
    _api_edits(leader_client)
    draft = document_draft_update(
        doc=CharterVersion.objects.get(state=DocState.DRAFT),
        by=leader,
        fields={"decisions_policy": "The steering committee decides by majority."},
    )
    document_approve(doc=charter_submit(doc=draft, by=leader), by=executive)
    api = owner_client.get("/api/v1/charter/").json()
    assert api["number"] == 2
    assert api["decisions_policy"] == "The steering committee decides by majority."
    assert api["snapshot"]["raci"] == [
        {"activity": "Approve the mission", "cells": {"Executive sponsor": "R"}}
    ]
    page = owner_client.get("/charter/").content.decode()
    assert page.index("Fix the billing portal") < page.index("Call every detractor back")
    assert "The steering committee decides by majority." in page
    published.refresh_from_db()
    assert published.state == DocState.SUPERSEDED


def test_edits_while_a_version_is_in_review_are_refused_with_409(
    published: CharterVersion, leader: User, leader_client: Client
) -> None:
    _api_edits(leader_client)
    charter_submit(doc=CharterVersion.objects.get(state=DocState.DRAFT), by=leader)
    role, activity = CharterRole.objects.get(), GovernanceActivity.objects.get()
    response = leader_client.post(
        "/api/v1/charter/raci/",
        json.dumps({"activity": activity.pk, "role": role.pk, "value": "C"}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "in review" in response.json()["state"][0]
    submitted = CharterVersion.objects.get(state=DocState.IN_REVIEW).snapshot
    assert submitted["raci"][0]["cells"] == {"Executive sponsor": "R"}


def test_a_submitted_or_published_snapshot_cannot_be_rewritten(published: CharterVersion) -> None:
    published.snapshot = {"roles": [], "raci": [], "cadence": [], "priorities": []}
    with pytest.raises(ValidationError):
        published.save()
    published.refresh_from_db()
    assert published.snapshot["roles"][0]["name"] == "Executive sponsor"


def test_first_edit_without_any_version_opens_a_draft_that_needs_a_purpose_to_submit(leader: User) -> None:
    raci_cell_set(activity=GovernanceActivityFactory(), role=CharterRoleFactory(), value="A", by=leader)
    draft = CharterVersion.objects.get()
    assert draft.state == DocState.DRAFT and draft.purpose == ""
    with pytest.raises(ValidationError) as err:
        charter_submit(doc=draft, by=leader)
    assert "purpose" in err.value.message_dict


def test_contents_api_says_which_draft_its_lists_belong_to(
    published: CharterVersion, leader_client: Client
) -> None:
    _api_edits(leader_client)
    data = leader_client.get("/api/v1/charter/contents/").json()
    assert data["draft"] == {"number": 2, "state": "draft"}
    assert data["unpublished_changes"] == ["RACI", "Priorities"]


# --- decisions log: records ----------------------------------------------------------------------


def test_decisions_are_append_only_records_with_who_and_when(leader: User, leader_client: Client) -> None:
    response = leader_client.post(
        "/charter/decisions/new/",
        {"title": "Fund the callback team", "decided_on": "2026-11-02", "rationale": "x"},
    )
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert decision.recorded_by == leader and decision.created_at is not None
    edit = leader_client.post(
        f"/charter/decisions/{decision.pk}/",
        {"title": "Changed", "decided_on": "2026-11-02", "rationale": "y"},
    )
    assert edit.status_code == 400
    assert "Decisions are records" in edit.content.decode()
    leader_client.post(f"/charter/decisions/{decision.pk}/delete/")
    decision.refresh_from_db()
    assert decision.title == "Fund the callback team"
    with pytest.raises(ValidationError):
        governance_record_save(instance=decision, by=leader)


# --- approvals reach people ----------------------------------------------------------------------


def test_submitting_puts_an_approval_item_in_every_executives_inbox_and_mails_it(
    published: CharterVersion, leader: User, executive: User, django_capture_on_commit_callbacks
) -> None:
    second = UserFactory(username="exec2", role="executive", email="exec2@example.com")
    quiet = UserFactory(username="exec3", role="executive", inbox_email=False)
    with django_capture_on_commit_callbacks(execute=True):
        raci_cell_set(
            activity=GovernanceActivityFactory(name="Rank priorities"),
            role=CharterRoleFactory(),
            value="A",
            by=leader,
        )
        charter_submit(doc=CharterVersion.objects.get(state=DocState.DRAFT), by=leader)
    for person in (executive, second, quiet):
        unread = inbox_items(user=person, unread_only=True)
        assert [i.text for i in unread] == ["Charter v2 awaits your approval"]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([executive.email, "exec2@example.com"])
    assert mail.outbox[0].subject == "[cxgov] Charter v2 awaits your approval"
    assert "/charter/versions/2/" in mail.outbox[0].body


def test_returning_tells_the_author_and_clears_the_other_approvers_items(
    published: CharterVersion, leader: User, executive: User
) -> None:
    other = UserFactory(username="exec2", role="executive")
    draft = charter_draft_create(by=leader)
    charter_submit(doc=draft, by=leader)
    document_return(doc=draft, by=executive, comment="Name the finance partner in the RACI.")
    item = inbox_items(user=leader).get(kind="draft-returned")
    assert item.text == "Charter v2 returned with a comment"
    assert "Name the finance partner" in item.body
    assert not inbox_items(user=other, unread_only=True).exists()
    assert User.objects.get(pk=other.pk).inbox_unread == 0
    assert InboxItem.objects.filter(user=other, text="Charter v2 awaits your approval").exists()


def test_executive_home_lists_pending_approvals_first(
    published: CharterVersion, leader: User, executive_client: Client
) -> None:
    charter_submit(doc=charter_draft_create(by=leader), by=leader)
    page = executive_client.get("/dashboard/").content.decode()
    assert 'data-testid="pending-approvals"' in page
    assert page.index("Waiting for your approval") < page.index('id="h-metrics"')
    assert 'href="/charter/versions/2/"' in page


def test_admin_shows_a_published_versions_content_read_only(published: CharterVersion) -> None:
    admin = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/charter/charterversion/{published.pk}/change/").content.decode()
    assert 'name="purpose"' not in page
    assert "Make CX a discipline." in page


def test_draft_page_offers_no_edit_controls_while_in_review(
    published: CharterVersion, leader: User, leader_client: Client
) -> None:
    _api_edits(leader_client)
    assert "Click a cell to change it" in leader_client.get("/charter/draft/").content.decode()
    charter_submit(doc=CharterVersion.objects.get(state=DocState.DRAFT), by=leader)
    page = leader_client.get("/charter/draft/").content.decode()
    assert "Click a cell to change it" not in page
    assert "waits for an executive" in page
