"""Issue 24: each finding of the outside probe, replayed as the attack it was (what is sent,
what must come back). Findings 1, 5 and 7 (customer e-mails) have their own files."""

from __future__ import annotations

import itertools
import json
import secrets
import time
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from feedback.models import RawDelivery, Response
from tests.factories import SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

MEGABYTE = 1024 * 1024


def _stranger() -> Client:
    """A client from an address of its own, so the per-address count starts at zero."""
    n = secrets.randbelow(2**24)  # counts live a minute in the shared Redis: no reuse across runs
    return Client(REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")


@pytest.fixture
def refusal_limits(settings: Any) -> Any:
    settings.CXGOV_INTAKE_REFUSALS_PER_ADDRESS = 30
    settings.CXGOV_INTAKE_REFUSALS_KEPT_PER_MINUTE = 60
    return settings


def _intake(source: Any) -> str:
    return f"/api/v1/intake/{source.slug}/"


def _database_bytes() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        return int(cursor.fetchone()[0])


# --- 2. unauthenticated storage --------------------------------------------------------------


def test_f2_a_hundred_unauthenticated_megabyte_posts_grow_the_database_by_less_than_a_megabyte(
    refusal_limits: Any,
) -> None:
    source = SourceFactory(kind="generic")
    attacker = _stranger()
    junk = b'{"external_id": "x", "comment": "' + b"A" * (MEGABYTE - 40) + b'"}'
    assert len(junk) <= MEGABYTE
    before = _database_bytes()
    codes = [
        attacker.post(_intake(source), data=junk, content_type="application/json").status_code
        for _ in range(100)
    ]
    grown = _database_bytes() - before
    assert set(codes) == {401, 429}  # refused; past its allowance the address is told to slow down
    assert grown < MEGABYTE, f"{grown} bytes for 100 MB of junk"
    kept = RawDelivery.objects.filter(source=source)
    # 30 a minute; the posts can straddle one window boundary on a busy machine
    assert (
        settings.CXGOV_INTAKE_REFUSALS_PER_ADDRESS
        <= kept.count()
        <= 2 * settings.CXGOV_INTAKE_REFUSALS_PER_ADDRESS
    )
    assert all(len(bytes(d.body)) <= settings.CXGOV_REFUSED_BODY_BYTES for d in kept)
    assert "of 1048" in kept.first().error  # the record says how much was sent


@pytest.mark.parametrize(
    ("content_type", "status"), [("text/plain", 415), ("application/json", 401)], ids=["415", "401"]
)
def test_f2_a_refusal_keeps_headers_verdict_and_a_prefix_of_the_body(
    refusal_limits: Any, content_type: str, status: int
) -> None:
    source = SourceFactory(kind="generic")
    body = b"B" * 50_000
    reply = _stranger().post(
        _intake(source), data=body, content_type=content_type, headers={"X-Trace": "t-1"}
    )
    assert reply.status_code == status
    kept = RawDelivery.objects.get(source=source)
    assert (kept.verdict, kept.status_code) == ("rejected", status)
    assert bytes(kept.body) == body[: settings.CXGOV_REFUSED_BODY_BYTES]
    assert kept.headers["x-trace"] == "t-1"


def test_f2_a_stranger_choosing_huge_headers_stores_a_bounded_few(refusal_limits: Any) -> None:
    source = SourceFactory(kind="generic")
    headers = {f"X-Pad-{i}": "h" * 4000 for i in range(50)}
    _stranger().post(_intake(source), data=b"{}", content_type="application/json", headers=headers)
    assert len(json.dumps(RawDelivery.objects.get(source=source).headers)) < 6000


def test_f2_many_addresses_together_store_at_most_the_sources_quota(refusal_limits: Any) -> None:
    source = SourceFactory(kind="generic")
    codes = {
        _stranger().post(_intake(source), data=b"{}", content_type="application/json").status_code
        for _ in range(150)
    }
    assert codes == {401}
    kept = RawDelivery.objects.filter(source=source).count()
    quota = settings.CXGOV_INTAKE_REFUSALS_KEPT_PER_MINUTE
    assert quota <= kept <= 2 * quota  # 60 a minute (the posts may straddle one window boundary)


def test_f2_a_spoofed_forwarded_for_does_not_buy_a_fresh_allowance(refusal_limits: Any) -> None:
    source = SourceFactory(kind="generic")
    attacker = _stranger()
    codes = [
        attacker.post(
            _intake(source),
            data=b"{}",
            content_type="application/json",
            headers={"X-Forwarded-For": f"192.0.2.{i}"},
        ).status_code
        for i in range(40)
    ]
    assert codes[-1] == 429  # no proxy configured: the header is the client's own text


def test_f2_behind_one_proxy_the_address_the_proxy_saw_is_counted(refusal_limits: Any) -> None:
    refusal_limits.CXGOV_TRUSTED_PROXY_COUNT = 1
    source = SourceFactory(kind="generic")
    proxy = Client(REMOTE_ADDR="10.255.0.1")

    def post(forwarded: str) -> int:
        return proxy.post(
            _intake(source),
            data=b"{}",
            content_type="application/json",
            headers={"X-Forwarded-For": forwarded},
        ).status_code

    assert [post(f"6.6.6.6, 203.0.113.{n}") for n in (1, 2)] == [401, 401]  # the left entry is ignored
    assert {post(f"{i}.1.1.1, 203.0.113.9") for i in range(35)} == {401, 429}


def test_f2_old_refusals_are_pruned_by_beat_and_accepted_deliveries_stay() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from feedback.refusals import refused_delivery_prune
    from feedback.schedule import BEAT_SCHEDULE

    source = SourceFactory(kind="generic")
    Client().post(_intake(source), data=b"{}", content_type="application/json")
    Client().post(
        _intake(source),
        data=b'{"external_id": "ok-1", "comment": "fine"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )
    RawDelivery.objects.update(
        received_at=timezone.now() - timedelta(days=settings.CXGOV_REFUSED_KEEP_DAYS + 1)
    )
    assert refused_delivery_prune() == 1
    assert list(RawDelivery.objects.values_list("verdict", flat=True)) == ["created"]
    assert BEAT_SCHEDULE["refused-delivery-prune"]["task"] == "feedback.tasks.refused_delivery_prune_task"


def test_f2_head_says_the_same_for_a_real_and_an_invented_slug() -> None:
    source = SourceFactory(kind="generic")
    real = Client().head(_intake(source))
    invented = Client().head("/api/v1/intake/surely-not-a-source/")
    assert (real.status_code, real.content) == (invented.status_code, invented.content) == (200, b"")


# --- 3. strangers cannot use up a vendor's rate limit -----------------------------------------


def test_f3_a_thousand_junk_posts_do_not_refuse_or_delay_the_vendor(refusal_limits: Any) -> None:
    source = SourceFactory(kind="generic", rate_limit_per_minute=600)
    attacker = _stranger()
    junk = [
        attacker.post(
            _intake(source), data=b'{"external_id": "j"}', content_type="application/json"
        ).status_code
        for _ in range(1000)
    ]
    assert set(junk) <= {401, 429}
    vendor = Client(REMOTE_ADDR=attacker.defaults["REMOTE_ADDR"])  # even from the same address
    started = time.monotonic()
    reply = vendor.post(
        _intake(source),
        data=b'{"external_id": "real-1", "scores": {"nps": 9}}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )
    assert reply.status_code == 201, reply.content
    assert time.monotonic() - started < 2.0  # one delivery's time, not a queue behind the junk
    assert Response.objects.filter(source=source, external_id="real-1").exists()


def test_f3_the_vendors_own_deliveries_still_meet_its_limit() -> None:
    source = SourceFactory(kind="generic", rate_limit_per_minute=3)
    vendor = _stranger()
    codes = [
        vendor.post(
            _intake(source),
            data=json.dumps({"external_id": f"v-{i}", "comment": "ok"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {source.token}"},
        ).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]


# --- 4. login lockout -------------------------------------------------------------------------

PASSWORD = "pw-for-tests-123"


def test_f4_every_spelling_of_a_login_shares_the_same_ten_guesses() -> None:
    UserFactory(username="lena", email="Lena@Example.com")
    spellings = [
        "lena",
        "LENA",
        " lena ",
        "Lena\t",
        "lena@example.com",
        "LENA@EXAMPLE.COM",
        " lena@example.com",
    ]
    client = Client()
    for guess, spelling in zip(range(settings.AXES_FAILURE_LIMIT), itertools.cycle(spellings), strict=False):
        client.post("/accounts/login/", {"username": spelling, "password": f"guess-{guess}"})
    for spelling in spellings:
        locked = client.post("/accounts/login/", {"username": spelling, "password": PASSWORD})
        assert locked.status_code in (403, 429), spelling
        assert not client.session.get("_auth_user_id")


def test_f4_each_spelling_still_logs_in_when_not_locked() -> None:
    UserFactory(username="lena", email="lena@example.com")
    for spelling in ("LENA", " lena ", "Lena@Example.COM"):
        client = Client()
        assert (
            client.post("/accounts/login/", {"username": spelling, "password": PASSWORD}).status_code == 302
        )
        assert client.session.get("_auth_user_id")


# --- 6. the five 500s ---------------------------------------------------------------------------

FAR = "9999-12-31"


@pytest.fixture
def leader_api(fast_world: Any) -> Client:
    return fast_world.client_for("leader")


@pytest.mark.parametrize("param", ["to", "from"])
def test_f6_a_far_date_on_the_metrics_api_is_400_with_the_field(leader_api: Client, param: str) -> None:
    reply = leader_api.get("/api/v1/metrics/", {"metric": "nps", "group_by": "month", param: FAR})
    assert reply.status_code == 400
    assert param in reply.json()


def test_f6_a_report_period_ending_in_year_9999_is_400_on_the_api(leader_api: Client) -> None:
    reply = leader_api.post(
        "/api/v1/reports/", {"period_start": "2026-01-01", "period_end": FAR}, content_type="application/json"
    )
    assert reply.status_code == 400
    assert "period_end" in reply.json()


def test_f6_a_report_period_ending_in_year_9999_is_a_form_error(leader_api: Client) -> None:
    reply = leader_api.post("/reports/", {"period_start": "2026-01-01", "period_end": FAR})
    assert reply.status_code in (200, 400)
    assert "Choose a date between" in reply.content.decode()


@pytest.mark.parametrize(
    "url", ["/responses/?date_to=9999-12-31", "/triage/?date_to=9999-12-31", "/triage/?date_from=0001-01-01"]
)
def test_f6_far_date_filters_on_pages_are_not_a_500(leader_api: Client, url: str) -> None:
    assert leader_api.get(url).status_code < 500


@pytest.mark.parametrize("junk", ["²", "١٢", "99999999999999999999999", "-1", "1e3"])
def test_f6_non_ascii_or_huge_ids_in_the_bulk_triage_form_are_400(fast_world: Any, junk: str) -> None:
    action = fast_world.action_a
    client = fast_world.client_for("ambassador")
    reply = client.post(
        "/triage/bulk/", {"ids": [str(action.pk), junk], "operation": "priority", "priority": "high"}
    )
    assert reply.status_code in (400, 404)
    action.refresh_from_db()
    assert action.priority != "high" or action.version == 0


@pytest.mark.parametrize("junk", ["²", "³", "99999999999999999999999"])
def test_f6_a_superscript_or_huge_number_in_the_privacy_form_is_a_field_error(junk: str) -> None:
    staff = UserFactory(username="dpo", is_staff=True)
    client = Client()
    client.force_login(staff)
    reply = client.post("/settings/privacy/", {"customer": junk, "action": "export"})
    assert reply.status_code == 400
    assert "No customer matches" in reply.content.decode()


def test_f6_a_superscript_in_a_priority_reorder_is_400(fast_world: Any) -> None:
    client = fast_world.client_for("leader")
    assert client.post("/charter/priorities/reorder/", {"order": ["²"]}).status_code in (400, 404)


# --- 9. password reset throttle --------------------------------------------------------------


def test_f9_thirty_resets_for_one_address_send_at_most_the_allowance(mailoutbox: list[Any]) -> None:
    UserFactory(username="f9-lena", email="f9-lena@example.com")
    attacker = _stranger()
    replies = [
        attacker.post("/accounts/password_reset/", {"email": "f9-lena@example.com"}) for _ in range(30)
    ]
    assert {r.status_code for r in replies} == {302}  # the same reply every time: nothing revealed
    assert {r["Location"] for r in replies} == {"/accounts/password_reset/done/"}
    assert 1 <= len(mailoutbox) <= 3 * 2  # "3/h" (a window boundary can split a burst in two)


def test_f9_one_client_cannot_spray_resets_across_many_addresses(mailoutbox: list[Any]) -> None:
    for i in range(30):
        UserFactory(username=f"f9-user{i}", email=f"f9-user{i}@example.com")
    attacker = _stranger()
    for i in range(30):
        assert (
            attacker.post("/accounts/password_reset/", {"email": f"f9-user{i}@example.com"}).status_code
            == 302
        )
    assert 1 <= len(mailoutbox) <= 10 * 2  # "10/h" per client address


def test_f9_spellings_of_one_address_share_its_allowance(mailoutbox: list[Any]) -> None:
    UserFactory(username="f9-omar", email="f9-omar@example.com")
    for spelling in ["f9-omar@example.com", "F9-OMAR@example.com", " f9-omar@EXAMPLE.com "] * 4:
        _stranger().post("/accounts/password_reset/", {"email": spelling})
    assert len(mailoutbox) <= 3 * 2


# --- 10. smaller ones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "base_url"),
    [
        ("qualtrics", "http://169.254.169.254/latest/meta-data/"),
        ("qualtrics", "https://127.0.0.1"),
        ("qualtrics", "https://10.0.0.5"),
        ("qualtrics", "https://evil.example"),
        ("qualtrics", "https://fra1.qualtrics.com.evil.example"),
        ("qualtrics", "https://fra1.qualtrics.com@127.0.0.1/"),
        ("qualtrics", "https://fra1.qualtrics.com:8443"),
        ("qualtrics", "http://fra1.qualtrics.com"),
        ("surveymonkey", "https://localhost"),
        ("surveymonkey", "https://api.surveymonkey.com.internal"),
        ("generic", "https://fra1.qualtrics.com"),
    ],
)
def test_f10_a_detail_fetch_base_url_outside_the_vendors_hosts_is_a_field_error(
    fast_world: Any, kind: str, base_url: str
) -> None:
    reply = fast_world.client_for("leader").post(
        "/api/v1/sources/",
        {"kind": kind, "name": "Probe", "api_credentials": {"base_url": base_url, "api_token": "t"}},
        content_type="application/json",
    )
    assert reply.status_code == 400, reply.content
    assert "api_credentials" in reply.json()


@pytest.mark.parametrize(
    ("kind", "base_url"),
    [("qualtrics", "https://fra1.qualtrics.com"), ("surveymonkey", "https://api.eu.surveymonkey.com")],
)
def test_f10_the_vendors_documented_hosts_are_accepted(fast_world: Any, kind: str, base_url: str) -> None:
    reply = fast_world.client_for("leader").post(
        "/api/v1/sources/",
        {"kind": kind, "name": "Vendor", "api_credentials": {"base_url": base_url, "api_token": "t"}},
        content_type="application/json",
    )
    assert reply.status_code == 201, reply.content


def test_f10_a_stored_internal_base_url_is_never_fetched(fast_world: Any) -> None:
    """Credentials stored before the check (or behind it) are checked again by the worker."""
    from feedback.intake import response_fetch_details
    from tests.factories import ResponseFactory

    source = SourceFactory(
        kind="qualtrics", api_credentials={"base_url": "http://127.0.0.1:9", "api_token": "t"}
    )
    response = ResponseFactory(
        source=source, status="awaiting_details", answers={"_fetch": {"survey_id": "SV_1"}}
    )
    assert response_fetch_details(response_id=response.id) == "vendor_refused"


def test_f10_a_redirect_from_the_vendor_to_a_private_address_is_refused() -> None:
    import urllib.request

    from feedback.vendor_hosts import CheckedRedirects, UnsafeVendorUrl

    request = urllib.request.Request("https://fra1.qualtrics.com/API/v3/x")
    for target in ("http://169.254.169.254/", "https://10.1.1.1/", "https://evil.example/"):
        with pytest.raises(UnsafeVendorUrl):
            CheckedRedirects("qualtrics").redirect_request(request, None, 302, "Found", {}, target)


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/", "/api/redoc/"])
def test_f10_the_api_schema_and_docs_do_not_answer_strangers(url: str) -> None:
    reply = Client().get(url)
    assert reply.status_code in (302, 401, 403)
    assert b"openapi" not in reply.content.lower()


def test_f10_the_schema_answers_a_token_and_a_session(fast_world: Any) -> None:
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=fast_world.owner)
    assert Client().get("/api/schema/", headers={"Authorization": f"Token {token.key}"}).status_code == 200
    assert fast_world.client_for("owner").get("/api/docs/").status_code == 200


def test_f10_public_api_docs_is_an_operator_choice() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django; django.setup(); from django.test import Client; "
        "print(Client().get('/api/schema/').status_code, Client().get('/api/docs/').status_code)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cxgov.settings_test", "CXGOV_PUBLIC_API_DOCS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split()[-2:] == ["200", "200"]


@pytest.mark.parametrize(
    "url", ["/responses/", "/triage/", "/dashboard/", "/api/v1/responses/", "/settings/privacy/"]
)
def test_f10_pages_for_signed_in_users_are_not_stored_by_caches(fast_world: Any, url: str) -> None:
    fast_world.leader.is_staff = True
    fast_world.leader.save()
    reply = fast_world.client_for("leader").get(url)
    assert reply.status_code == 200
    assert "no-store" in reply["Cache-Control"]
    assert "private" in reply["Cache-Control"]


def test_f10_a_detail_page_with_a_customer_is_not_cached(fast_world: Any) -> None:
    reply = fast_world.client_for("ambassador").get(f"/responses/{fast_world.response_a.pk}/")
    assert reply.status_code == 200
    assert "no-store" in reply["Cache-Control"]


@pytest.mark.parametrize(
    "cell",
    ["＝1+1", "＋cmd", "－2+3", "＠SUM(A1)", '﹦HYPERLINK("x")', "−1+1", " =1+1", "\u3000＝1", "\n=1", "=1"],
)
def test_f10_the_csv_neutraliser_catches_unicode_look_alikes(cell: str) -> None:
    from cxgov.exports import csv_safe

    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Late delivery", "1", "ok = fine", "", "Ａna"])
def test_f10_the_csv_neutraliser_leaves_plain_text_alone(cell: str) -> None:
    from cxgov.exports import csv_safe

    assert csv_safe(cell) == cell


def test_f10_a_full_width_equals_in_a_moment_title_is_neutralised_in_the_export(fast_world: Any) -> None:
    from django.utils import timezone

    from missions.models import MissionMoment

    MissionMoment.objects.create(
        title='＝HYPERLINK("http://evil.example","x")',
        story="s",
        department=fast_world.dept_a,
        submitted_by=fast_world.owner,
        featured_at=timezone.now(),
        featured_by=fast_world.leader,
    )
    reply = fast_world.client_for("leader").get("/dashboard/export/moments.csv")
    assert reply.status_code == 200
    body = b"".join(reply.streaming_content).decode()
    assert "'＝HYPERLINK" in body


def test_f10_a_mission_moment_cannot_credit_a_department_the_user_cannot_see(fast_world: Any) -> None:
    from missions.models import MissionMoment

    owner = fast_world.client_for("owner")
    api = owner.post(
        "/api/v1/moments/",
        {"kind": "lived", "title": "We did it", "story": "s", "department": fast_world.dept_b.slug},
        content_type="application/json",
    )
    assert api.status_code == 400, api.content
    assert "department" in api.json()
    page = owner.post(
        "/moments/", {"kind": "lived", "title": "We did it", "story": "s", "department": fast_world.dept_b.pk}
    )
    assert page.status_code == 400
    assert not MissionMoment.objects.filter(department=fast_world.dept_b).exists()
    mine = owner.post(
        "/api/v1/moments/",
        {"kind": "lived", "title": "Ours", "story": "s", "department": fast_world.dept_a.slug},
        content_type="application/json",
    )
    assert mine.status_code == 201, mine.content


# --- 7 (the owner's action e-mail). 8. bulk imports --------------------------------------------


@pytest.fixture
def routed_owner(fast_world: Any) -> Any:
    from feedback.models import RoutingRule

    owner = fast_world.owner
    owner.email, owner.notify_by_email = "owner@example.org", True
    owner.save()
    RoutingRule.objects.create(
        name="All to the owner", is_default=True, department=fast_world.dept_a, loops="inner",
        owner_mode="user", owner=owner,
    )  # fmt: skip
    return owner


def test_f7_a_cr_lf_in_a_customers_name_still_reaches_the_owner(
    fast_world: Any, routed_owner: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    source = fast_world.source_a
    body = {
        "external_id": "crlf-1",
        "scores": {"nps": 1},
        "comment": "awful",
        "customer": {"email": "eve@example.org", "name": "Eve\r\nBcc: victim@example.org"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        reply = Client().post(
            _intake(source), data=json.dumps(body), content_type="application/json",
            headers={"Authorization": f"Bearer {source.token}"},
        )  # fmt: skip
    assert reply.status_code == 201
    from feedback.models import Notification

    sent = [m for m in mailoutbox if m.to == ["owner@example.org"]]
    assert len(sent) == 1, Notification.objects.values_list("status", "last_error")
    subject = sent[0].message()["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert sent[0].bcc == [] and "victim@example.org" not in sent[0].recipients()


def test_f7_a_stored_subject_with_cr_lf_is_sent_cleaned_not_failed_for_ever(
    routed_owner: Any, mailoutbox: list[Any]
) -> None:
    from feedback.models import Notification
    from feedback.notifications import notification_send

    row = Notification.objects.create(
        user=routed_owner, channel="email", subject="New action: Follow up Eve\r\nX-Evil: 1", body="b",
        dedupe_key="old-row:email",
    )  # fmt: skip
    assert notification_send(notification_id=row.id) == "sent"
    assert mailoutbox[-1].subject == "New action: Follow up Eve X-Evil: 1"


def test_f8_an_import_sends_each_owner_one_digest_not_one_e_mail_per_action(
    fast_world: Any,
    routed_owner: Any,
    mailoutbox: list[Any],
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    import io
    from datetime import timedelta

    from django.utils import timezone

    from feedback.imports import import_job_create, import_job_run
    from feedback.models import ActionItem
    from feedback.notifications import notification_import_digest_send

    settings.MEDIA_ROOT = tmp_path
    source = SourceFactory(
        kind="csv",
        program=fast_world.program_a,
        field_map={"external_id": "id", "nps": "nps", "comment": "c"},
    )
    rows = "".join(f"i{n},2,Slow reply {n}\n" for n in range(40))
    job = import_job_create(source=source, fileobj=io.BytesIO(("id,nps,c\n" + rows).encode()), name="f.csv")
    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(job_id=job.id)
    assert ActionItem.objects.filter(owner=routed_owner, response__source=source).count() == 40
    assert [m for m in mailoutbox if m.to == [routed_owner.email]] == []  # no flood
    with django_capture_on_commit_callbacks(execute=True):
        assert notification_import_digest_send(now=timezone.now() + timedelta(minutes=5)) == 1
    assert notification_import_digest_send(now=timezone.now() + timedelta(minutes=10)) == 0  # once
    digests = [m for m in mailoutbox if m.to == [routed_owner.email]]
    assert len(digests) == 1
    assert "40 new action(s)" in digests[0].subject
    assert "and 15 more" in digests[0].body


def test_f8_a_live_webhook_still_notifies_the_owner_at_once(
    fast_world: Any, routed_owner: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    source = fast_world.source_a
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            _intake(source), data=json.dumps({"external_id": "live-1", "scores": {"nps": 2}}),
            content_type="application/json", headers={"Authorization": f"Bearer {source.token}"},
        )  # fmt: skip
    assert len([m for m in mailoutbox if m.to == [routed_owner.email]]) == 1


def test_f8_the_import_kinds_are_the_csv_kinds() -> None:
    from feedback.imports import CSV_KINDS
    from feedback.processing import CSV_SOURCE_KINDS
    from feedback.schedule import BEAT_SCHEDULE

    assert set(CSV_KINDS) == CSV_SOURCE_KINDS
    assert BEAT_SCHEDULE["import-digest"]["task"] == "feedback.tasks.notification_import_digest_send_task"
