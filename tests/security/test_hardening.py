"""Hardening: CSP, real-mode transport security, login throttling, sessions, passwords,
request ids, secrets kept out of logs, and the deploy check (ASVS 5.0 level 2 anchors)."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from charter.models import User
from cxgov.logging import KeyValueFormatter
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-tests-123"
OUR_MIDDLEWARE = ["cxgov.middleware.RequestIdMiddleware", "cxgov.middleware.DatabaseUnavailableMiddleware"]


def _real_mode_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "EMAIL"))}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "cxgov.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "deploy-check-" + "k3Y9fQ2xZ7wP4rT8vB1nM6cL0sD5gH" * 2,
        "DJANGO_ALLOWED_HOSTS": "cxgov.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxgov"),
        "REDIS_URL": "redis://127.0.0.1:6379/9",
        **extra,
    }


# --- Content Security Policy ------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_a_csp_with_a_fresh_nonce_that_every_script_tag_uses(client: Client) -> None:
    first = client.get(reverse("login"))
    second = client.get(reverse("login"))
    policy = first["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    assert "script-src 'self' 'nonce-" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    scripts = re.findall(r"<script[^>]*>", first.content.decode())
    assert scripts and all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
    assert nonce.group(1) not in second["Content-Security-Policy"]


def test_no_template_uses_inline_event_handlers_or_javascript_urls() -> None:
    """CSP without 'unsafe-inline' would silently break them; keep them out of every template."""
    offenders = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        text = path.read_text()
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text) or "javascript:" in text.lower():
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


@pytest.mark.django_db
def test_clickjacking_and_sniffing_headers_are_set(client: Client) -> None:
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


# --- real mode: transport security -------------------------------------------------------------


def test_deploy_check_is_clean_in_real_mode() -> None:
    """``check --deploy`` with DEBUG off, a real secret and allowed hosts: no warning at all."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_real_mode_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_real_mode_turns_on_secure_cookies_hsts_and_the_ssl_redirect() -> None:
    code = (
        "import json, django; from django.conf import settings; django.setup(); print(json.dumps({"
        "'session': settings.SESSION_COOKIE_SECURE, 'csrf': settings.CSRF_COOKIE_SECURE,"
        "'hsts': settings.SECURE_HSTS_SECONDS, 'subdomains': settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        "'redirect': settings.SECURE_SSL_REDIRECT, 'httponly': settings.SESSION_COOKIE_HTTPONLY,"
        "'debug': settings.DEBUG}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_real_mode_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    conf = json.loads(out.stdout.strip().splitlines()[-1])
    assert conf == {
        "session": True,
        "csrf": True,
        "hsts": 31536000,
        "subdomains": True,
        "redirect": True,
        "httponly": True,
        "debug": False,
    }


@pytest.mark.django_db
def test_with_the_real_mode_flags_http_is_redirected_and_https_gets_hsts(settings: object) -> None:
    settings.SECURE_SSL_REDIRECT = True  # type: ignore[attr-defined]
    settings.SECURE_HSTS_SECONDS = 31536000  # type: ignore[attr-defined]
    settings.SESSION_COOKIE_SECURE = True  # type: ignore[attr-defined]
    client = Client()
    plain = client.get(reverse("login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert client.get(reverse("healthz")).status_code in (200, 503), "health checks come over plain HTTP"
    secure = client.get(reverse("login"), secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    UserFactory(username="lena")
    login = client.post(reverse("login"), {"username": "lena", "password": PASSWORD}, secure=True)
    assert login.cookies[settings.SESSION_COOKIE_NAME]["secure"]  # type: ignore[attr-defined]
    assert login.cookies[settings.SESSION_COOKIE_NAME]["httponly"]  # type: ignore[attr-defined]


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_is_locked_after_the_failure_limit_even_with_the_right_password(client: Client) -> None:
    UserFactory(username="lena")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "lena", "password": "not-the-password"})
    locked = client.post(reverse("login"), {"username": "lena", "password": PASSWORD})
    assert locked.status_code in (403, 429)
    assert not client.session.get("_auth_user_id")


@pytest.mark.django_db
def test_a_lockout_of_one_username_does_not_lock_out_another(client: Client) -> None:
    UserFactory(username="lena")
    UserFactory(username="omar")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "lena", "password": "not-the-password"})
    assert client.post(reverse("login"), {"username": "omar", "password": PASSWORD}).status_code == 302


def test_the_failure_limit_is_strict_enough() -> None:
    assert 3 <= settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AXES_COOLOFF_TIME


@pytest.mark.django_db
def test_an_expired_session_is_sent_back_to_login(client: Client) -> None:
    UserFactory(username="lena")
    client.post(reverse("login"), {"username": "lena", "password": PASSWORD})
    assert client.get(reverse("charter:department-list")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("charter:department-list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_sessions_last_a_working_day_at_most() -> None:
    assert settings.SESSION_COOKIE_AGE <= 12 * 60 * 60


@pytest.mark.django_db
def test_logging_in_rotates_the_session_key(client: Client) -> None:
    """Session fixation: the key an attacker planted before login is useless after it."""
    UserFactory(username="lena")
    client.get(reverse("login"))
    session = client.session
    session["planted"] = True
    session.save()
    before = session.session_key
    client.post(reverse("login"), {"username": "lena", "password": PASSWORD})
    assert client.session.session_key != before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("new_password", "complaint"),
    [
        ("short1!", "too short"),
        ("password1234", "too common"),
        ("8472910365", "entirely numeric"),
        ("lena-lenasson", "too similar"),
    ],
)
def test_weak_passwords_are_refused_on_change(new_password: str, complaint: str) -> None:
    user = UserFactory(username="lena-lenasson", email="lena@example.com")
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 200
    assert complaint in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_password_reset_does_not_reveal_whether_an_account_exists(client: Client) -> None:
    UserFactory(username="lena", email="lena@example.com")
    known = client.post(reverse("password_reset"), {"email": "lena@example.com"})
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


# --- request ids and logs -----------------------------------------------------------------------


@pytest.fixture
def captured_log() -> io.StringIO:
    """Everything logged during the test, rendered by the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.django_db
def test_every_response_carries_a_request_id_that_the_logs_carry_too(
    settings: object, captured_log: io.StringIO
) -> None:
    settings.MIDDLEWARE = [*OUR_MIDDLEWARE, *settings.MIDDLEWARE]  # type: ignore[attr-defined]
    client = Client()
    response = client.get(reverse("login"))
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert request_id in captured_log.getvalue()
    given = client.get(reverse("login"), headers={"X-Request-ID": "vendor-retry-0042"})
    assert given["X-Request-ID"] == "vendor-retry-0042"
    hostile = client.get(reverse("login"), headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert "<" not in hostile["X-Request-ID"]


@pytest.mark.django_db
def test_tokens_secrets_and_signatures_never_reach_the_logs(captured_log: io.StringIO) -> None:
    from tests.factories import SourceFactory

    source = SourceFactory(kind="generic")
    secret_bits = [source.token, "whsec_c2VjcmV0LXNpZ25pbmcta2V5", "sha256=deadbeefcafebabe0011"]
    client = Client()
    url = f"/api/v1/intake/{source.slug}/"
    client.post(
        url,
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )
    client.post(
        url,
        data="{}",
        content_type="application/json",
        headers={"Authorization": "Bearer wrong-" + source.token},
    )
    client.post(
        url, data="{}", content_type="application/json", headers={"webhook-signature": secret_bits[2]}
    )
    UserFactory(username="lena")
    client.post(reverse("login"), {"username": "lena", "password": "a-wrong-" + secret_bits[1]})
    log = structlog.get_logger("cxgov.test")
    log.warning("integration failed", token=secret_bits[0], secret=secret_bits[1], signature=secret_bits[2])
    logging.getLogger("cxgov.test").warning("plain record", extra={"authorization": secret_bits[0]})
    output = captured_log.getvalue()
    assert "integration failed" in output and "[redacted]" in output
    for bit in secret_bits:
        assert bit not in output


@pytest.mark.django_db
def test_stored_raw_deliveries_keep_no_credentials() -> None:
    from feedback.models import RawDelivery
    from tests.factories import SourceFactory

    source = SourceFactory(kind="generic")
    Client().post(
        f"/api/v1/intake/{source.slug}/",
        data='{"external_id": "x-1", "comment": "fine"}',
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {source.token}",
            "X-Api-Key": "k-123456789",
            "Cookie": "sessionid=abc",
        },
    )
    stored = RawDelivery.objects.get(source=source)
    assert source.token not in str(stored.headers)
    assert "k-123456789" not in str(stored.headers)
    assert "sessionid=abc" not in str(stored.headers)


@pytest.mark.django_db
def test_no_user_model_keeps_a_plain_password() -> None:
    user = UserFactory(username="lena")
    stored = User.objects.get(pk=user.pk).password
    assert PASSWORD not in stored and "$" in stored
