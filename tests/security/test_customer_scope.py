"""Attacks on customer scoping and id integrity (issue 24, finding 1 and the NUL id).

Manual entry at /feedback/new/ used to link a new response to any customer with the typed
e-mail or id, so an ambassador of Support could read a Billing customer's name, e-mail and id
on their own department's pages and API, and learn whether the e-mail existed. Now one lookup
rule scoped to what the user may see decides (``customer_visible_list``); an id with a NUL or
another control character is refused with a 400 field error instead of being silently stripped
into another id.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.urls import reverse

from feedback.imports import import_job_create, import_job_run
from feedback.models import Customer, Response
from tests.factories import CustomerFactory, ProgramFactory, ResponseFactory, SourceFactory

SECRET_NAME = "Bob Billing-Secret"
SECRET_ID = "billing-cust-5975"
SECRET_EMAIL = "bob.secret@example.org"


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def program_a(dept_a):
    return ProgramFactory(slug="support-csat", department=dept_a)


@pytest.fixture
def billing_customer(dept_b):
    """Department B's customer, with a response only department B (and leaders) may see."""
    source = SourceFactory(slug="billing-survey", program__department=dept_b)
    customer = CustomerFactory(source=source, external_id=SECRET_ID, email=SECRET_EMAIL, name=SECRET_NAME)
    ResponseFactory(source=source, customer=customer, external_id="b-1", nps=2)
    return customer


def enter(client, program, **customer: str):  # type: ignore[no-untyped-def]
    data = {"program": program.pk, "channel": "phone", "comment": "Called about the invoice.", **customer}
    return client.post(reverse("feedback:manual-entry"), data=data)


def leaked(text: str) -> list[str]:
    return [needle for needle in (SECRET_NAME, SECRET_ID) if needle in text]


def test_ambassador_entering_another_departments_customers_email_does_not_link_or_leak(
    ambassador_client, program_a, billing_customer
):
    reply = enter(ambassador_client, program_a, customer_email=SECRET_EMAIL.upper())
    assert reply.status_code == 302
    response = Response.objects.get(entered_by__username="ambassador")
    assert response.customer is not None and response.customer != billing_customer
    assert response.customer.name == ""  # nothing of Bob's record came along
    billing_customer.refresh_from_db()
    assert (billing_customer.name, billing_customer.email) == (SECRET_NAME, SECRET_EMAIL)
    for url in (
        reverse("feedback:response-detail", kwargs={"pk": response.pk}),
        reverse("feedback:response-list"),
        "/api/v1/responses/",
        f"/api/v1/responses/?source={response.source.slug}",
    ):
        page = ambassador_client.get(url)
        assert page.status_code == 200, url
        assert not leaked(page.content.decode()), url


def test_ambassador_entering_another_departments_vendor_id_does_not_link_or_leak(
    ambassador_client, program_a, billing_customer
):
    reply = enter(ambassador_client, program_a, customer_external_id=SECRET_ID, customer_name="Walk-in")
    assert reply.status_code == 302
    response = Response.objects.get(entered_by__username="ambassador")
    assert response.customer != billing_customer
    assert response.customer.name == "Walk-in"
    api = ambassador_client.get("/api/v1/responses/").json()
    assert [r["customer"]["name"] for r in api["results"]] == ["Walk-in"]
    assert [r["customer"]["email"] for r in api["results"]] == [""]
    assert SECRET_NAME not in json.dumps(api) and SECRET_EMAIL not in json.dumps(api)


def test_manual_entry_gives_no_exists_signal(ambassador_client, program_a, billing_customer):
    """The reply for a Billing customer's e-mail is the reply for an e-mail nobody has: the
    same status, the same kind of redirect, the same page with only the typed e-mail in it."""
    known = enter(ambassador_client, program_a, customer_email=SECRET_EMAIL)
    known_page = ambassador_client.get(known["Location"]).content.decode()
    unknown = enter(ambassador_client, program_a, customer_email="nobody@example.org")
    unknown_page = ambassador_client.get(unknown["Location"]).content.decode()
    assert known.status_code == unknown.status_code == 302

    def normal(page: str, email: str) -> list[str]:
        page = page.replace(email, "E")
        page = re.sub(r"manual-[0-9a-f]+…?", "M", page)
        page = re.sub(r"/\d+/", "/N/", page)
        page = re.sub(r'nonce="[^"]+"', "nonce", page)
        page = re.sub(r'(csrfmiddlewaretoken" value=|csrf-token" content=|X-CSRFToken": )"[^"]+"', "T", page)
        return page.splitlines()

    assert not leaked(known_page)
    assert normal(known_page, SECRET_EMAIL) == normal(unknown_page, "nobody@example.org")


def test_a_customer_the_ambassador_may_see_is_linked(ambassador_client, program_a, dept_a):
    source = SourceFactory(slug="support-survey", program=program_a)
    ours = CustomerFactory(source=source, external_id="s-1", email="ours@example.org", name="Our Customer")
    ResponseFactory(source=source, customer=ours, external_id="a-1", nps=9)
    assert enter(ambassador_client, program_a, customer_email="ours@example.org").status_code == 302
    assert Response.objects.get(entered_by__username="ambassador").customer == ours


def test_a_leader_who_sees_every_department_links_the_customer(leader_client, program_a, billing_customer):
    assert enter(leader_client, program_a, customer_email=SECRET_EMAIL).status_code == 302
    assert Response.objects.get(entered_by__username="leader").customer == billing_customer


# --- NUL and control characters in ids ------------------------------------------------------


def post_generic(client, source, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/intake/{source.slug}/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )


@pytest.mark.parametrize("bad", ["a\u0000b", "a\u0001b", "ab\u007f", "a\u009bb"])
def test_an_external_id_with_a_control_character_is_a_400_field_error(client, dept_a, bad):
    source = SourceFactory(slug="generic", program__department=dept_a)
    assert post_generic(client, source, {"external_id": "ab", "scores": {"nps": 9}}).status_code == 201
    reply = post_generic(client, source, {"external_id": bad, "scores": {"nps": 3}})
    assert reply.status_code == 400, reply.content
    assert "external_id" in reply.json()["errors"]
    assert list(Response.objects.values_list("external_id", "nps")) == [("ab", 9)]  # not overwritten


def test_a_customer_id_with_a_nul_is_a_400_field_error(client, dept_a):
    source = SourceFactory(slug="generic", program__department=dept_a)
    reply = post_generic(
        client, source, {"external_id": "r-1", "customer": {"external_id": "c\u0000-1"}, "scores": {"nps": 9}}
    )
    assert reply.status_code == 400
    assert "customer.external_id" in reply.json()["errors"]
    assert not Customer.objects.exists()


def test_import_rows_with_a_nul_in_an_id_are_row_errors_and_other_rows_are_kept(dept_a):
    source = SourceFactory(
        slug="csv",
        kind="csv",
        program__department=dept_a,
        field_map={"external_id": "id", "customer_id": "person"},
    )
    data = (
        b"id,person,nps,comment\n"
        b"ab,p1,9,fine\n"
        b"a\x00b,p2,3,nul in id\n"
        b"cd,p\x003,4,nul in person\n"
        b"ef,p4,5,ok\x00 here\n"
    )
    job = import_job_create(source=source, fileobj=io.BytesIO(data), name="nul.csv", start=False)
    job = import_job_run(job_id=job.id)
    assert [e["row"] for e in job.errors] == [3, 4]
    assert "control characters" in job.errors[0]["message"]
    assert set(Response.objects.values_list("external_id", flat=True)) == {"ab", "ef"}
    assert Response.objects.get(external_id="ef").comment == "ok here"  # NUL elsewhere: dropped as before


def test_manual_entry_with_a_control_character_in_the_customer_id_is_a_form_error(
    ambassador_client, program_a
):
    reply = enter(ambassador_client, program_a, customer_external_id="c\u0001d")
    assert reply.status_code == 200
    assert "control characters" in reply.content.decode()
    assert not Response.objects.exists()


def test_customer_visible_list_is_three_queries_whatever_the_number_of_customers(
    django_assert_num_queries, ambassador, program_a, billing_customer
):
    from feedback.selectors import customer_visible_list

    source = SourceFactory(slug="support-survey", program=program_a)
    for i in range(12):
        customer = CustomerFactory(source=source)
        ResponseFactory(source=source, customer=customer, external_id=f"a-{i}", nps=9)
    with django_assert_num_queries(3):  # the user's role, their departments, then the customers
        visible = list(customer_visible_list(user=ambassador))
    assert len(visible) == 12 and billing_customer not in visible
