"""Hostile input: every class answers a clear 4xx (never a 500) and nothing is lost.

"Nothing lost" for intake means: a refused delivery is still kept as a ``RawDelivery`` (so an
operator can see what the vendor sent), and no partial ``Response`` is written. For pages it
means the hostile text is stored as text and shown escaped everywhere it appears.

Classes tried (counted in ``HOSTILE_CLASSES`` for the report): signatures, malformed JSON,
deep nesting, oversized bodies, content types, encodings, NUL bytes, XSS (HTML, htmx, PDF),
CSV formula injection, Host header, CSRF, SQL-ish filters, upload path traversal.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from feedback.models import ActionItem, ImportJob, RawDelivery, Response
from tests.factories import ActionItemFactory, ResponseFactory, SourceFactory, ThemeFactory
from tests.security.conftest import World

pytestmark = pytest.mark.django_db

HOSTILE_CLASSES = (
    "missing/bad bearer token",
    "bad/missing vendor signature",
    "malformed JSON",
    "deeply nested JSON",
    "oversized body",
    "wrong content type",
    "bad encoding",
    "NUL bytes",
    "XSS in user text (HTML, htmx, PDF)",
    "CSV formula injection",
    "bad Host header",
    "missing CSRF token",
    "SQL-ish filter values",
    "upload path traversal",
)

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'><svg/onload=alert(2)>'
WHSEC = "whsec_" + base64.b64encode(b"formbricks-signing-key-0123456789").decode()


def _intake(source: Any) -> str:
    return f"/api/v1/intake/{source.slug}/"


def _post(
    client: Client, source: Any, body: bytes | str, *, content_type: str = "application/json", **headers: str
) -> Any:
    return client.post(
        _intake(source),
        data=body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {source.token}", **headers},
    )


def _refused_and_kept(source: Any, response: Any, status: int) -> None:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["errors"], body
    assert not Response.objects.filter(source=source).exists()
    assert RawDelivery.objects.filter(source=source, verdict="rejected", status_code=status).count() == 1


def formbricks_headers(body: bytes, *, secret: str = WHSEC, at: float | None = None) -> dict[str, str]:
    """Standard Webhooks signature headers, as Formbricks sends them."""
    webhook_id = "msg_2b6cE1"
    stamp = str(int(at if at is not None else time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


FORMBRICKS_BODY = json.dumps(
    {
        "webhookId": "wh1",
        "event": "responseFinished",
        "data": {
            "id": "fb-resp-1",
            "surveyId": "s1",
            "createdAt": "2026-11-23T10:00:00.000Z",
            "updatedAt": "2026-11-23T10:01:00.000Z",
            "finished": True,
            "data": {"nps": 3, "comment": "slow"},
            "contact": None,
            "meta": {},
        },
    }
).encode()


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer not-the-token", "Basic Zm9vOmJhcg==", "Token x"]
)
def test_intake_without_the_right_bearer_token_is_401_and_kept(authorization: str | None) -> None:
    source = SourceFactory(kind="generic")
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = Client().post(
        _intake(source),
        data='{"external_id": "a", "comment": "hi"}',
        content_type="application/json",
        headers=headers,
    )
    _refused_and_kept(source, response, 401)


@pytest.mark.parametrize(
    "tamper",
    ["missing", "wrong secret", "body changed", "signature garbage"],
)
def test_formbricks_delivery_with_a_bad_signature_is_401(tamper: str) -> None:
    source = SourceFactory(kind="formbricks", secret=WHSEC, field_map={"nps": "nps", "comment": "comment"})
    body = FORMBRICKS_BODY
    headers = formbricks_headers(body)
    if tamper == "missing":
        headers = {}
    elif tamper == "wrong secret":
        headers = formbricks_headers(
            body, secret="whsec_" + base64.b64encode(b"another-key-000000000").decode()
        )
    elif tamper == "body changed":
        body = body.replace(b'"nps": 3', b'"nps": 9')
    else:
        headers["webhook-signature"] = "v1,!!!not-base64!!!"
    response = Client().post(_intake(source), data=body, content_type="application/json", headers=headers)
    _refused_and_kept(source, response, 401)


def test_formbricks_delivery_signed_right_is_accepted() -> None:
    """The control for the tamper cases above: the same body, signed right, is stored."""
    source = SourceFactory(kind="formbricks", secret=WHSEC, field_map={"nps": "nps", "comment": "comment"})
    response = Client().post(
        _intake(source),
        data=FORMBRICKS_BODY,
        content_type="application/json",
        headers=formbricks_headers(FORMBRICKS_BODY),
    )
    assert response.status_code == 201, response.content
    assert Response.objects.get(source=source).nps == 3


def test_a_token_of_one_source_does_not_open_another() -> None:
    mine, other = SourceFactory(kind="generic"), SourceFactory(kind="generic")
    response = Client().post(
        _intake(other),
        data='{"external_id": "a", "comment": "hi"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {mine.token}"},
    )
    _refused_and_kept(other, response, 401)


# --- body shape -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"just a string"',
        b"null",
        b'{"external_id": "a", "comment": "x"',
        b'{"external_id": "a", "scores": {"nps": "NaN"}}',
        b'{"external_id": "a", "scores": {"nps": 1e999}}',
        b'{"external_id": {"$gt": ""}, "comment": "x"}',
        b'{"external_id": "a", "scores": {"nps": 11}}',
        b'{"external_id": "' + b"x" * 300 + b'", "comment": "x"}',
    ],
    ids=[
        "broken",
        "array",
        "string",
        "null",
        "truncated",
        "nan",
        "huge-number",
        "object-id",
        "out-of-scale",
        "long-id",
    ],
)
def test_malformed_json_is_400_with_field_errors(body: bytes) -> None:
    source = SourceFactory(kind="generic")
    _refused_and_kept(source, _post(Client(), source, body), 400)


@pytest.mark.parametrize("depth", [200, 5_000, 100_000])
def test_deeply_nested_json_is_400_not_a_crash(depth: int) -> None:
    source = SourceFactory(kind="generic")
    nested = (
        '{"external_id": "deep", "comment": "x", "answers": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    )
    response = _post(Client(), source, nested.encode())
    if response.status_code in (200, 201):  # a modest depth may be legitimate answers: stored once
        assert depth <= 200 and Response.objects.filter(source=source).count() == 1
        return
    _refused_and_kept(source, response, 400)


def test_a_body_over_one_megabyte_is_413_and_the_refusal_is_kept() -> None:
    source = SourceFactory(kind="generic")
    body = json.dumps({"external_id": "big", "comment": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    response = _post(Client(), source, body.encode())
    _refused_and_kept(source, response, 413)
    assert bytes(RawDelivery.objects.get(source=source).body) == b""  # the megabyte is not stored


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "",
    ],
)
def test_a_wrong_content_type_is_415(content_type: str) -> None:
    source = SourceFactory(kind="generic")
    response = Client().post(
        _intake(source),
        data=b'{"external_id": "a", "comment": "x"}',
        content_type=content_type,
        headers={"Authorization": f"Bearer {source.token}"},
    )
    _refused_and_kept(source, response, 415)


@pytest.mark.parametrize(
    "body",
    [
        b'{"external_id": "a", "comment": "caf\xe9"}',  # latin-1, not UTF-8
        '{"external_id": "a", "comment": "x"}'.encode("utf-16"),
        b'{"external_id": "a", "comment": "\xed\xa0\x80"}',  # an encoded lone surrogate
    ],
    ids=["latin-1", "utf-16", "surrogate-bytes"],
)
def test_bad_encodings_are_400(body: bytes) -> None:
    source = SourceFactory(kind="generic")
    _refused_and_kept(source, _post(Client(), source, body), 400)


@pytest.mark.parametrize(
    "field",
    ["comment", "external_id", "customer_name", "answer"],
)
def test_nul_bytes_never_reach_postgres_as_a_500(field: str) -> None:
    source = SourceFactory(kind="generic")
    doc: dict[str, Any] = {"external_id": "nul-1", "comment": "fine", "customer": {"email": "n@example.org"}}
    if field == "comment":
        doc["comment"] = "bad\x00byte"
    elif field == "external_id":
        doc["external_id"] = "nul\x00id"
    elif field == "customer_name":
        doc["customer"]["name"] = "Nu\x00ll"
    else:
        doc["answers"] = {"q1": "a\x00b"}
    response = _post(Client(), source, json.dumps(doc).encode())
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        _refused_and_kept(source, response, 400)
    else:  # accepted: stored without the NUL, once
        stored = Response.objects.get(source=source)
        assert "\x00" not in json.dumps([stored.comment, stored.external_id, stored.answers]).replace(
            "\\u0000", "\x00"
        )


def test_a_lone_surrogate_escape_is_refused_or_stored_clean() -> None:
    source = SourceFactory(kind="generic")
    response = _post(Client(), source, b'{"external_id": "a", "comment": "ok \\ud800 ok"}')
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        Response.objects.get(source=source).comment.encode("utf-8")  # valid UTF-8 in the database


def test_an_empty_body_is_refused_clearly() -> None:
    source = SourceFactory(kind="generic")
    response = _post(Client(), source, b"")
    assert response.status_code in (400, 415)
    _refused_and_kept(source, response, response.status_code)


# --- XSS ------------------------------------------------------------------------------------------


def _assert_escaped(html: str) -> None:
    assert "<script>alert" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")  # only escaped copies
    assert "<svg/onload" not in html
    assert "&lt;script&gt;" in html  # the text is shown, escaped


def test_xss_posted_through_intake_is_shown_escaped_on_every_page(world: World) -> None:
    source = world.source_a
    doc = {
        "external_id": "xss-1",
        "scores": {"nps": 1},
        "comment": XSS,
        "touchpoint": XSS,
        "department": XSS,
        "customer": {"name": XSS, "email": "xss@example.org", "external_id": "xss-cust"},
        "answers": {"q<b>1</b>": XSS},
    }
    assert _post(Client(), source, json.dumps(doc).encode()).status_code == 201
    response = Response.objects.get(source=source, external_id="xss-1")
    action = ActionItem.objects.filter(response=response).first() or ActionItemFactory(
        response=response, department=world.dept_a, owner=world.owner, title=XSS
    )
    leader = world.client_for("leader")
    pages = [
        reverse("feedback:response-list"),
        reverse("feedback:response-list") + "?q=" + "%3Cscript%3E",
        reverse("feedback:response-detail", kwargs={"pk": response.pk}),
        reverse("feedback:action-detail", kwargs={"pk": action.pk}),
        reverse("feedback:triage"),
    ]
    for url in pages:
        page = leader.get(url)
        assert page.status_code == 200, url
        _assert_escaped(page.content.decode())
    fragment = leader.get(
        reverse("feedback:response-list"), headers={"HX-Request": "true", "HX-Target": "response-table"}
    )
    assert fragment.status_code == 200
    _assert_escaped(fragment.content.decode())


def test_xss_in_a_theme_name_and_action_title_is_escaped_in_triage_fragments(world: World) -> None:
    theme = ThemeFactory(name=XSS, slug="xss-theme")
    ActionItemFactory(department=world.dept_a, owner=world.owner, title=XSS, theme=theme, loop="outer")
    client = world.client_for("leader")
    for url in (reverse("feedback:triage"), reverse("feedback:systemic")):
        for headers in ({}, {"HX-Request": "true"}):
            page = client.get(url, headers=headers)
            assert page.status_code == 200
            _assert_escaped(page.content.decode())


def _pdf_text(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(content)
        return subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout


def test_xss_in_the_charter_reaches_the_pdf_as_plain_text(world: World) -> None:
    from charter.documents import document_approve, document_draft_update
    from charter.models import CharterVersion, Priority
    from charter.services import charter_submit, priority_save

    # the PDF shows the approved charter only: the priority is added and the draft approved
    priority_save(
        priority=Priority(title=XSS, department=world.dept_a, success_measure=world.measure_a),
        by=world.leader,
    )
    draft = document_draft_update(  # the edit opened the draft
        doc=CharterVersion.objects.get(state="draft"),
        by=world.leader,
        fields={"purpose": "Make CX a discipline."},
    )
    document_approve(doc=charter_submit(doc=draft, by=world.leader), by=world.executive)
    response = world.client_for("executive").get(reverse("charter:charter-pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = _pdf_text(content)
    assert '<script>alert("x")</script>' in text.replace("\n", "")  # shown literally, as text
    assert b"/JavaScript" not in content and b"/JS " not in content


# --- CSV exports ------------------------------------------------------------------------------------


def test_csv_exports_neutralise_formulas_from_user_text(world: World) -> None:
    ThemeFactory(name='=HYPERLINK("http://evil.example","x")', slug="formula", department=world.dept_a)
    ThemeFactory(name="@SUM(1+1)*cmd|' /C calc'!A0", slug="formula2", department=world.dept_a)
    client = world.client_for("leader")
    for table in ("themes", "departments", "programs", "loops"):
        response = client.get(reverse("reports:dashboard-export", kwargs={"table": table}))
        assert response.status_code == 200, table
        text = (
            b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()
        )
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (table, cell)
                if cell.startswith("-"):
                    float(cell)  # a negative number is fine; "-cmd" is not


# --- transport-level ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "testserver.evil.example", "evil.example:80", "[bad"])
def test_a_bad_host_header_is_400(host: str) -> None:
    response = Client(HTTP_HOST=host).get(reverse("login"))
    assert response.status_code == 400


def test_browser_posts_without_a_csrf_token_are_403(world: World) -> None:
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post(reverse("login"), {"username": "leader", "password": "x"}).status_code == 403
    leader = Client(enforce_csrf_checks=True)
    leader.force_login(world.leader)
    assert leader.post(reverse("logout")).status_code == 403
    assert leader.post(reverse("charter:priority-new"), {"title": "x"}).status_code == 403
    # the API with a session cookie is a browser too
    api = leader.post(
        "/api/v1/sources/", data={"kind": "generic", "name": "x"}, content_type="application/json"
    )
    assert api.status_code == 403


def test_intake_needs_no_csrf_token_because_it_is_not_a_browser_endpoint() -> None:
    source = SourceFactory(kind="generic")
    response = Client(enforce_csrf_checks=True).post(
        _intake(source),
        data='{"external_id": "c-1", "comment": "hi"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )
    assert response.status_code == 201


SQLISH = [
    "' OR '1'='1",
    "1; DROP TABLE feedback_response;--",
    "1 UNION SELECT password FROM charter_user",
    "%",
    "\\",
    "'\x00",
]


@pytest.mark.parametrize("value", SQLISH)
def test_sql_ish_filter_values_give_no_500_and_no_other_department_rows(world: World, value: str) -> None:
    ResponseFactory(
        source=world.source_b, customer=world.customer_b, external_id="b-secret", comment="billing secret"
    )
    ResponseFactory(
        source=world.source_a, customer=world.customer_a, external_id="a-visible", comment="support"
    )
    client = world.client_for("ambassador")
    urls = [
        (
            reverse("feedback:response-list"),
            ("q", "program", "source", "band", "status", "department", "date_from", "page"),
        ),
        (reverse("feedback:triage"), ("q", "status", "department", "owner", "loop", "sort", "page")),
        (
            "/api/v1/responses/",
            ("source", "program", "band", "status", "department", "q", "from", "to", "page"),
        ),
        ("/api/v1/actions/", ("source", "department", "loop", "status", "page")),
        ("/api/v1/metrics/", ("metric", "group_by", "source", "program", "from", "to")),
    ]
    client.raise_request_exception = False
    wrong = []
    for url, params in urls:
        for param in params:
            response = client.get(url, {param: value})
            body = response.content.decode(errors="replace")
            if response.status_code not in (200, 400, 404):
                wrong.append((url, param, response.status_code))
            if "billing secret" in body or "bob@example.org" in body:
                wrong.append((url, param, "leaks department B"))
            if "syntax error" in body.lower() or "Traceback" in body:
                wrong.append((url, param, "leaks an error"))
    assert not wrong


# --- uploads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../../../../etc/passwd.csv", "..\\..\\windows\\win.ini.csv", "/etc/cron.d/evil.csv", "a/../../b.csv"],
)
def test_upload_file_names_cannot_escape_the_media_directory(
    world: World, name: str, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = world.client_for("leader")
    upload = SimpleUploadedFile(name, b"id,nps,comment\n1,9,ok\n", content_type="text/csv")
    response = client.post(f"/api/v1/sources/{world.source_a.slug}/imports/", {"file": upload})
    assert response.status_code in (201, 202, 400), response.content
    media = (tmp_path / "media").resolve()
    for job in ImportJob.objects.all():
        stored = Path(job.file.path).resolve()
        assert stored.is_relative_to(media), stored
        assert ".." not in job.file.name
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and not p.resolve().is_relative_to(media)]
    assert not outside
