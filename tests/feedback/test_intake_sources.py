"""Sources: create_source output, the sources API, rotation."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from feedback.models import Program, Source


def create_source(*args: str) -> dict:
    out = io.StringIO()
    call_command("create_source", *args, stdout=out)
    return json.loads(out.getvalue())


def test_create_source_prints_one_json_object_and_works_on_an_empty_database(client):
    data = create_source("--kind", "generic", "--name", "Website widget")
    assert set(data) == {"slug", "intake_url", "token", "secret"}
    assert data["intake_url"] == f"http://127.0.0.1:8000/api/v1/intake/{data['slug']}/"
    source = Source.objects.get(slug=data["slug"])
    assert source.program.slug == "default"
    assert source.token_hash == Source.hash_token(data["token"])
    reply = client.post(
        f"/api/v1/intake/{data['slug']}/",
        data=json.dumps({"external_id": "1", "scores": {"nps": 10}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {data['token']}",
    )
    assert reply.status_code == 201


def test_create_source_takes_program_secret_and_field_map(dept_a, monkeypatch):
    monkeypatch.setenv("CXGOV_BASE_URL", "https://cx.example.com")
    Program.objects.create(name="Support CSAT", slug="support-csat", department=dept_a)
    data = create_source(
        "--kind",
        "typeform",
        "--name",
        "Typeform CSAT",
        "--program",
        "support-csat",
        "--secret",
        "abc",
        "--map",
        "csat=q_csat",
        "--map",
        "comment=q_text",
    )
    source = Source.objects.get(slug=data["slug"])
    assert (source.program.slug, source.secret, data["secret"]) == ("support-csat", "abc", "abc")
    assert source.field_map == {"csat": "q_csat", "comment": "q_text"}
    assert data["intake_url"].startswith("https://cx.example.com/api/v1/intake/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "nope", "--name", "x"], "Unknown --kind"),
        (["--kind", "csv", "--name", "x", "--map", "colour=q1"], "unknown ROLE"),
        (["--kind", "csv", "--name", "x", "--map", "nps"], "ROLE=KEY"),
        (["--kind", "csv", "--name", "x", "--program", "missing"], "No program"),
    ],
)
def test_create_source_refuses_bad_arguments_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_source", *args, stdout=io.StringIO())


def test_two_sources_with_the_same_name_get_distinct_slugs():
    a = create_source("--kind", "generic", "--name", "Kiosk")
    b = create_source("--kind", "generic", "--name", "Kiosk")
    assert a["slug"] != b["slug"]


def test_the_sources_api_creates_and_shows_the_token_once(leader_client, dept_a):
    Program.objects.create(name="P", slug="p", department=dept_a)
    reply = leader_client.post(
        "/api/v1/sources/",
        data={"kind": "generic", "name": "API source", "program": "p", "map": ["nps=q1"]},
        content_type="application/json",
    )
    assert reply.status_code == 201, reply.content
    data = reply.json()
    assert {"slug", "intake_url", "token", "secret"} <= set(data)
    assert data["intake_url"] == f"http://testserver/api/v1/intake/{data['slug']}/"
    listed = leader_client.get("/api/v1/sources/").json()
    text = json.dumps(listed)
    assert data["slug"] in text
    assert data["token"] not in text
    assert 'secret"' not in text.replace("has_secret", "")


def test_the_sources_api_answers_400_with_field_errors(leader_client):
    reply = leader_client.post(
        "/api/v1/sources/",
        data={"kind": "generic", "name": "x", "field_map": {"colour": "q"}, "scales": {"nps": [10, 0]}},
        content_type="application/json",
    )
    assert reply.status_code == 400
    assert set(reply.json()) == {"field_map", "scales"}


def test_only_cx_leaders_create_sources(ambassador_client):
    reply = ambassador_client.post(
        "/api/v1/sources/", data={"kind": "generic", "name": "x"}, content_type="application/json"
    )
    assert reply.status_code == 403


def test_rotating_a_source_replaces_its_token(leader_client, client):
    data = create_source("--kind", "generic", "--name", "Rotating")
    reply = leader_client.post(f"/api/v1/sources/{data['slug']}/rotate/", content_type="application/json")
    assert reply.status_code == 200
    new_token = reply.json()["token"]
    assert new_token != data["token"]
    body = json.dumps({"external_id": "1", "comment": "hi"})
    url = f"/api/v1/intake/{data['slug']}/"
    old = client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {data['token']}"
    )
    new = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {new_token}")
    assert (old.status_code, new.status_code) == (401, 201)
