"""Unsaved edits are never lost: "Submit for review" saves the form's text first."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from charter.documents import document_draft_create
from charter.models import DocState, User
from missions.models import MissionVersion

pytestmark = pytest.mark.django_db


def _version_url(number: int = 1) -> str:
    return reverse("missions:mission-version", kwargs={"number": number})


def test_submitting_with_unsaved_edits_submits_the_edited_text(leader: User, leader_client: Client) -> None:
    document_draft_create(model=MissionVersion, by=leader, fields={"statement": "We answer within a day."})
    page = leader_client.get(_version_url()).content.decode()
    assert 'form="document-form" name="then" value="submit"' in page  # the button belongs to the edit form
    response = leader_client.post(
        _version_url(),
        {
            "statement": "We answer within an hour.",
            "narrative": "",
            "change_note": "faster",
            "then": "submit",
        },
    )
    assert response.status_code == 302
    doc = MissionVersion.objects.get(number=1)
    assert doc.state == DocState.IN_REVIEW
    assert doc.statement == "We answer within an hour."
    assert doc.change_note == "faster"


def test_invalid_edits_are_not_submitted(leader: User, leader_client: Client) -> None:
    document_draft_create(model=MissionVersion, by=leader, fields={"statement": "We answer within a day."})
    response = leader_client.post(_version_url(), {"statement": "", "narrative": "", "then": "submit"})
    assert response.status_code == 400
    doc = MissionVersion.objects.get(number=1)
    assert doc.state == DocState.DRAFT and doc.statement == "We answer within a day."


def test_mission_submit_asks_the_executives(leader: User, executive: User, leader_client: Client) -> None:
    document_draft_create(model=MissionVersion, by=leader, fields={"statement": "We answer within a day."})
    leader_client.post(_version_url(), {"statement": "Edited", "narrative": "", "then": "submit"})
    item = executive.inbox_items.get()
    assert item.text == "Mission v1 awaits your approval"
    assert item.url == _version_url()


def test_edit_forms_warn_before_leaving_with_unsaved_changes(leader: User, leader_client: Client) -> None:
    document_draft_create(model=MissionVersion, by=leader, fields={"statement": "We answer within a day."})
    page = leader_client.get(_version_url()).content.decode()
    assert 'id="document-form" data-warn-unsaved' in page
    assert "cxgov/unsaved" in page
