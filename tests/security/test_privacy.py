"""Customers' privacy requests: export everything held on them, erase it, keep an audit record."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from charter.models import User
from feedback.models import ContactLog, PrivacyRequest, RawDelivery, Response
from feedback.privacy import customer_data_export, customer_erase, customer_find
from tests.factories import ActionItemFactory, CustomerFactory, ResponseFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana_response(dept_a: object, owner: User) -> Response:
    """Ana's detractor response, its raw delivery and the follow-up that names her."""
    source = SourceFactory(slug="support-survey")
    customer = CustomerFactory(
        external_id="crm-ana-77", email="ana.silva@example.org", name="Ana Silva", attributes={"plan": "gold"}
    )
    response = ResponseFactory(
        source=source,
        customer=customer,
        nps=2,
        nps_band="detractor",
        sentiment=-0.7,
        comment="Ana Silva here: the courier lost my parcel, call me on +44 20 7946 0000",
        answers={"phone": "+44 20 7946 0000"},
    )
    RawDelivery.objects.create(
        source=source,
        headers={"content-type": "application/json"},
        body=json.dumps(
            {"customer": {"email": "ana.silva@example.org"}, "comment": response.comment}
        ).encode(),
        verdict="created",
        status_code=201,
        response=response,
    )
    action = ActionItemFactory(response=response, owner=owner, title="Call back Ana Silva")
    ContactLog.objects.create(
        action=action, channel="phone", outcome="reached", note="Ana Silva: refund agreed", by=owner
    )
    return response


def test_a_customer_is_found_by_id_email_or_vendor_id(ana_response: Response) -> None:
    customer = ana_response.customer
    assert customer_find(ref=str(customer.pk)) == customer
    assert customer_find(ref="ANA.SILVA@example.org") == customer
    assert customer_find(ref="crm-ana-77") == customer
    with pytest.raises(ValidationError):
        customer_find(ref="nobody@example.org")


def test_the_export_holds_every_personal_field_and_is_recorded(ana_response: Response, leader: User) -> None:
    data = customer_data_export(customer=ana_response.customer, by=leader, reason="DSR-12")
    text = json.dumps(data)
    for personal in (
        "Ana Silva",
        "ana.silva@example.org",
        "crm-ana-77",
        "gold",
        "+44 20 7946 0000",
        "refund agreed",
    ):
        assert personal in text
    assert data["responses"][0]["scores"] == {"nps": 2}
    assert data["deliveries"][0]["body"]["customer"]["email"] == "ana.silva@example.org"
    record = PrivacyRequest.objects.get()
    assert (record.kind, record.by, record.reason) == ("export", leader, "DSR-12")
    assert "ana" not in json.dumps(record.summary).lower()


def test_erasure_removes_personal_data_everywhere_but_keeps_the_scores(
    ana_response: Response, leader: User
) -> None:
    customer = ana_response.customer
    record = customer_erase(customer=customer, by=leader, reason="DSR-13")

    customer.refresh_from_db()
    assert (customer.name, customer.email, customer.external_id, customer.attributes) == ("", "", "", {})
    assert customer.erased_at is not None
    response = Response.objects.get(pk=ana_response.pk)
    assert (response.comment, response.answers) == ("", {})
    assert (response.nps, response.nps_band, response.sentiment) == (2, "detractor", -0.7)
    assert response.department_id == ana_response.department_id
    action = response.actions.get()
    assert "Ana" not in action.title
    assert all("Ana" not in past.title for past in action.history.all())
    assert "Ana" not in action.contacts.get().note
    delivery = RawDelivery.objects.get(response=response)
    assert b"ana" not in bytes(delivery.body).lower()
    assert (record.kind, record.by, record.customer_ref) == ("erase", leader, str(customer.pk))
    assert record.summary["responses"] == 1


def test_after_erasure_the_export_has_nothing_personal_left(ana_response: Response, leader: User) -> None:
    customer_erase(customer=ana_response.customer, by=leader)
    text = json.dumps(customer_data_export(customer=ana_response.customer, by=leader))
    for personal in ("Ana", "ana.silva", "crm-ana-77", "gold", "7946"):
        assert personal not in text, text


def test_erasing_twice_is_harmless_and_audited_twice(ana_response: Response, leader: User) -> None:
    customer_erase(customer=ana_response.customer, by=leader)
    customer_erase(customer=ana_response.customer, by=leader)
    assert PrivacyRequest.objects.filter(kind="erase").count() == 2
    assert Response.objects.get(pk=ana_response.pk).nps == 2


def test_the_audit_record_survives_and_names_who_and_when(ana_response: Response, leader: User) -> None:
    record = customer_erase(customer=ana_response.customer, by=leader)
    ana_response.customer.delete()
    record.refresh_from_db()
    assert record.customer is None and record.customer_ref and record.created_at and record.by == leader


def test_the_command_exports_json_and_erases_with_yes(ana_response: Response, leader: User) -> None:
    out = io.StringIO()
    call_command("customer_privacy", "export", "ana.silva@example.org", "--by", leader.username, stdout=out)
    assert json.loads(out.getvalue())["customer"]["name"] == "Ana Silva"
    out = io.StringIO()
    call_command(
        "customer_privacy",
        "erase",
        str(ana_response.customer.pk),
        "--by",
        leader.username,
        "--yes",
        stdout=out,
    )
    assert json.loads(out.getvalue())["erased"] == str(ana_response.customer.pk)
    ana_response.customer.refresh_from_db()
    assert ana_response.customer.email == ""


def test_the_command_refuses_an_unknown_customer_or_user(ana_response: Response, leader: User) -> None:
    with pytest.raises(CommandError, match="No customer"):
        call_command("customer_privacy", "export", "nobody@example.org", "--by", leader.username)
    with pytest.raises(CommandError, match="No user"):
        call_command("customer_privacy", "export", "ana.silva@example.org", "--by", "ghost")


# --- the staff page --------------------------------------------------------------------------------


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="dpo", is_staff=True))
    return client


def test_staff_download_a_customer_export_as_json(ana_response: Response, staff_client: Client) -> None:
    reply = staff_client.post(
        reverse("feedback:privacy"),
        {"customer": "ana.silva@example.org", "action": "export", "reason": "DSR-1"},
    )
    assert reply.status_code == 200
    assert reply["Content-Disposition"].startswith("attachment;")
    assert json.loads(reply.content)["customer"]["email"] == "ana.silva@example.org"
    assert PrivacyRequest.objects.get().reason == "DSR-1"


def test_erasing_from_the_page_needs_the_confirmation_box(
    ana_response: Response, staff_client: Client
) -> None:
    refused = staff_client.post(reverse("feedback:privacy"), {"customer": "crm-ana-77", "action": "erase"})
    assert refused.status_code == 400
    assert "Tick this to erase." in refused.content.decode()
    assert not PrivacyRequest.objects.exists()
    done = staff_client.post(
        reverse("feedback:privacy"),
        {"customer": "crm-ana-77", "action": "erase", "confirm": "on"},
        follow=True,
    )
    assert done.status_code == 200
    assert "erased" in done.content.decode()
    ana_response.customer.refresh_from_db()
    assert ana_response.customer.erased_at is not None


def test_an_unknown_customer_is_a_field_error_not_a_500(staff_client: Client) -> None:
    reply = staff_client.post(
        reverse("feedback:privacy"), {"customer": "nobody@example.org", "action": "export"}
    )
    assert reply.status_code == 400
    assert "No customer matches" in reply.content.decode()


def test_the_privacy_page_is_for_staff_only(leader_client: Client, client: Client) -> None:
    assert leader_client.get(reverse("feedback:privacy")).status_code == 403
    assert client.get(reverse("feedback:privacy")).status_code == 302
