"""Programs and sources screens: purpose is required, flags are computed in the DB."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from charter.models import DepartmentGoal
from feedback.models import ActionItem, Program, Response, Source
from feedback.selectors import program_list
from tests.factories import ProgramFactory, ResponseFactory, SourceFactory, UserFactory


@pytest.fixture
def goal(dept_a):
    return DepartmentGoal.objects.create(department=dept_a, title="Fewer repeat contacts")


def test_program_list_flags_no_purpose_stale_and_no_action(leader, dept_a, goal):
    ok = ProgramFactory(slug="ok", department=dept_a, department_goal=goal)
    no_purpose = ProgramFactory(slug="no-purpose", department=dept_a, purpose="", department_goal=goal)
    no_link = ProgramFactory(slug="no-link", department=dept_a)
    stale = ProgramFactory(slug="stale", department=dept_a, department_goal=goal)
    ResponseFactory(source=SourceFactory(program=ok), submitted_at=timezone.now())
    r = ResponseFactory(
        source=SourceFactory(program=stale), submitted_at=timezone.now() - timedelta(days=120)
    )
    ActionItem.objects.create(
        loop="inner", title="Call", department=dept_a, owner=leader, due_at=timezone.now(), response=r
    )
    flags = {
        p.slug: (p.flag_no_purpose, p.flag_stale, p.flag_no_action, p.response_count)
        for p in program_list(user=leader)
    }
    assert flags["ok"] == (False, False, True, 1)
    assert flags["no-purpose"][0] is True
    assert flags["no-link"][0] is True
    assert flags["stale"] == (False, True, False, 1)
    assert no_purpose and no_link


def test_program_list_page_uses_constant_queries(leader_client, dept_a, goal, django_assert_max_num_queries):
    def make(n: int) -> None:
        for _ in range(n):
            program = ProgramFactory(department=dept_a, department_goal=goal)
            ResponseFactory.create_batch(2, source=SourceFactory(program=program))

    make(2)
    with django_assert_max_num_queries(12) as few:
        assert leader_client.get(reverse("feedback:program-list")).status_code == 200
    make(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        reply = leader_client.get(reverse("feedback:program-list"))
    assert reply.content.count(b'data-testid="program-row"') == 10


def test_creating_a_program_requires_purpose_and_what_it_informs(leader_client, dept_a, goal):
    url = reverse("feedback:program-create")
    reply = leader_client.post(url, {"name": "Pulse", "kind": "employee_pulse", "department": dept_a.id})
    assert reply.status_code == 200
    assert b"This field is required" in reply.content
    assert b"Link the success measure or the department goal" in reply.content
    reply = leader_client.post(
        url,
        {
            "name": "Pulse",
            "kind": "employee_pulse",
            "department": dept_a.id,
            "purpose": "Tells HR whether the new rota helps.",
            "department_goal": goal.id,
            "is_active": "on",
        },
    )
    assert reply.status_code == 302
    program = Program.objects.get(name="Pulse")
    assert program.has_purpose
    assert reply["Location"] == reverse("feedback:program-sources", kwargs={"slug": program.slug})


def test_only_cx_leaders_create_programs(ambassador_client):
    assert ambassador_client.get(reverse("feedback:program-create")).status_code == 403


def test_creating_a_source_in_the_browser_shows_the_token_once(leader_client, dept_a):
    program = ProgramFactory(slug="nps", department=dept_a)
    url = reverse("feedback:program-sources", kwargs={"slug": program.slug})
    reply = leader_client.post(
        url,
        {
            "name": "Typeform NPS",
            "kind": "typeform",
            "timezone": "Europe/Paris",
            "map_nps": "q_nps",
            "scale_csat_low": "1",
            "scale_csat_high": "7",
        },
    )
    assert reply.status_code == 200
    source = Source.objects.get(name="Typeform NPS")
    token = reply.context["shown"]["token"]
    assert Source.hash_token(token) == source.token_hash
    assert token.encode() in reply.content
    assert b'id="intake-url"' in reply.content
    assert (source.field_map, source.scales, source.timezone) == (
        {"nps": "q_nps"},
        {"csat": [1, 7]},
        "Europe/Paris",
    )
    assert source.secret  # generated for Typeform
    again = leader_client.get(url)
    assert token.encode() not in again.content


def test_a_bad_source_form_shows_field_errors(leader_client, dept_a):
    program = ProgramFactory(slug="p2", department=dept_a)
    url = reverse("feedback:program-sources", kwargs={"slug": program.slug})
    reply = leader_client.post(
        url, {"name": "x", "kind": "generic", "timezone": "Mars/Olympus", "scale_nps_low": "5"}
    )
    assert reply.status_code == 200
    assert b"Unknown time zone" in reply.content
    assert b"Give both ends of the scale" in reply.content
    assert not Source.objects.filter(name="x").exists()


def test_rotating_in_the_browser_shows_a_new_token(leader_client, dept_a):
    source = SourceFactory(program__department=dept_a, program__slug="p3")
    old_hash = source.token_hash
    url = reverse("feedback:source-rotate", kwargs={"slug": "p3", "source_slug": source.slug})
    reply = leader_client.post(url)
    assert reply.status_code == 200
    source.refresh_from_db()
    assert source.token_hash != old_hash
    assert Source.hash_token(reply.context["shown"]["token"]) == source.token_hash


def test_programs_of_other_departments_are_404_for_an_ambassador(ambassador_client, dept_b):
    program = ProgramFactory(slug="billing-nps", department=dept_b)
    url = reverse("feedback:program-sources", kwargs={"slug": program.slug})
    assert ambassador_client.get(url).status_code == 404


def test_manual_entry_is_attributed_to_the_employee(owner, dept_a):
    from django.test import Client

    program = ProgramFactory(slug="support-csat", department=dept_a)
    client = Client()
    client.force_login(owner)
    reply = client.post(
        reverse("feedback:manual-entry"),
        {
            "program": program.id,
            "channel": "phone",
            "comment": "Invoice <b>wrong</b> again",
            "csat": "2",
            "customer_email": "Zoe@Example.org",
        },
    )
    assert reply.status_code == 302, reply.content
    response = Response.objects.get()
    assert response.entered_by == owner
    assert response.source.slug == "support-csat-manual"
    assert (response.csat, response.csat_band, response.department) == (2, "low", dept_a)
    assert response.customer.email == "zoe@example.org"
    detail = client.get(reply["Location"])
    assert b"Invoice &lt;b&gt;wrong&lt;/b&gt; again" in detail.content


def test_manual_entry_refuses_an_out_of_scale_score_on_the_field(owner_client, dept_a):
    program = ProgramFactory(slug="s2", department=dept_a)
    reply = owner_client.post(
        reverse("feedback:manual-entry"), {"program": program.id, "channel": "phone", "csat": "9"}
    )
    assert reply.status_code == 200
    assert "CSAT 9 is outside its scale 1–5." in reply.content.decode()
    assert not Response.objects.exists()


def test_manual_entry_offers_only_programs_in_scope(owner_client, dept_b):
    program = ProgramFactory(slug="other", department=dept_b)
    reply = owner_client.post(
        reverse("feedback:manual-entry"), {"program": program.id, "channel": "phone", "comment": "x"}
    )
    assert reply.status_code == 200
    assert not Response.objects.exists()
    assert UserFactory  # factories imported for symmetry with other tests
