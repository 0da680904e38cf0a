"""Foundation: settings modes, login, roles, department scoping, demo data, health, compose."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from charter.models import Department, User
from charter.roles import Role
from charter.selectors import department_list
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def _settings_in_subprocess(env: dict[str, str]) -> dict:
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], 'debug': settings.DEBUG,"
        "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'email': settings.EMAIL_BACKEND,"
        "'cache': settings.CACHES['default']['BACKEND'],"
        "'conn_max_age': settings.DATABASES['default'].get('CONN_MAX_AGE'),"
        "'health': settings.DATABASES['default'].get('CONN_HEALTH_CHECKS')}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "EMAIL"))}
    base["DJANGO_SETTINGS_MODULE"] = "cxgov.settings"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_default_runs_on_sqlite_with_inline_tasks() -> None:
    conf = _settings_in_subprocess({})
    assert conf["engine"] == "django.db.backends.sqlite3"
    assert conf["debug"] is True
    assert conf["eager"] is True
    assert conf["email"] == "django.core.mail.backends.console.EmailBackend"


def test_real_mode_uses_postgres_redis_and_turns_debug_off() -> None:
    conf = _settings_in_subprocess(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/cxgov", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["debug"] is False
    assert conf["eager"] is False
    assert conf["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert conf["conn_max_age"] == 60
    assert conf["health"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("identifier", ["lena", "lena@example.com", "LENA@example.com"])
def test_login_with_username_or_email(client: Client, identifier: str) -> None:
    UserFactory(username="lena", email="lena@example.com")
    response = client.post(reverse("login"), {"username": identifier, "password": "pw-for-tests-123"})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id")


@pytest.mark.django_db
def test_wrong_password_shows_error_and_stays_logged_out(client: Client) -> None:
    UserFactory(username="lena")
    response = client.post(reverse("login"), {"username": "lena", "password": "nope"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logout_ends_the_session(leader_client: Client) -> None:
    response = leader_client.post(reverse("logout"))
    assert response.status_code == 302
    assert leader_client.get(reverse("charter:department-list")).status_code == 302


@pytest.mark.django_db
def test_password_reset_sends_a_mail_with_a_link(client: Client) -> None:
    UserFactory(username="lena", email="lena@example.com")
    response = client.post(reverse("password_reset"), {"email": "lena@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.django_db
def test_password_change_works(leader_client: Client, leader: User) -> None:
    response = leader_client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-123",
            "new_password1": "a-much-longer-pass-42",
            "new_password2": "a-much-longer-pass-42",
        },
    )
    assert response.status_code == 302
    leader.refresh_from_db()
    assert leader.check_password("a-much-longer-pass-42")


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(reverse("charter:department-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_roles_carry_their_permissions(
    leader: User, finance: User, executive: User, ambassador: User
) -> None:
    assert leader.has_perm("charter.manage_governance")
    assert not ambassador.has_perm("charter.manage_governance")
    assert ambassador.has_perm("charter.edit_own_department")
    assert not finance.has_perm("charter.edit_own_department")
    assert leader.is_cx_leader and not leader.is_executive
    assert executive.sees_all_departments and not ambassador.sees_all_departments


@pytest.mark.django_db
def test_ambassador_sees_only_their_department(
    ambassador: User, dept_a: Department, dept_b: Department
) -> None:
    assert list(department_list(user=ambassador)) == [dept_a]


@pytest.mark.django_db
def test_other_department_is_not_found_not_forbidden(
    ambassador_client: Client, dept_a: Department, dept_b: Department
) -> None:
    assert ambassador_client.get(reverse("charter:department-detail", args=[dept_a.slug])).status_code == 200
    assert ambassador_client.get(reverse("charter:department-detail", args=[dept_b.slug])).status_code == 404


@pytest.mark.django_db
def test_leader_sees_every_department(leader_client: Client, dept_a: Department, dept_b: Department) -> None:
    assert leader_client.get(reverse("charter:department-detail", args=[dept_b.slug])).status_code == 200


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    first = {m.__name__: m.objects.count() for m in (User, Department)}
    call_command("seed_demo", stdout=io.StringIO())
    second = {m.__name__: m.objects.count() for m in (User, Department)}
    assert first == second
    assert first["Department"] == 6
    for username in ("leader", "ambassador", "owner", "finance", "executive"):
        assert User.objects.get(username=username).check_password("cxgov-demo")
    assert User.objects.get(username="leader").has_role(Role.CX_LEADER)


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client: Client) -> None:
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_answers_with_redis_stopped(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:6399/0"  # nothing listens there: a stopped Redis
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"


@pytest.mark.django_db
def test_admin_lists_every_model(admin_client: Client) -> None:
    from django.apps import apps
    from django.contrib import admin

    ours = [
        m for m in apps.get_models() if m._meta.app_label in {"charter", "missions", "feedback", "reports"}
    ]
    missing = [
        m.__name__ for m in ours if m not in admin.site._registry and not m.__name__.startswith("Historical")
    ]
    assert missing == []
    for model in ours:
        if model in admin.site._registry:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert admin_client.get(url).status_code == 200, model


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is installed by make test")
def test_compose_file_validates() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={**os.environ, "DJANGO_SECRET_KEY": "x" * 50},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_gunicorn_workers_freeze_what_they_loaded_before_serving() -> None:
    """A full garbage collection of an unfrozen worker stalls all its threads ~50 ms."""
    import gc
    import runpy

    from django.conf import settings

    config = runpy.run_path(str(settings.BASE_DIR / "cxgov" / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread"
    gc.unfreeze()
    try:
        config["post_worker_init"](object())
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def _task_boundaries() -> None:
    """What a worker does around one task: Celery's Django fixup and the task_prerun signal."""
    from celery import signals
    from celery.fixups.django import DjangoWorkerFixup

    from cxgov.celery import app
    from feedback.tasks import response_process_task

    fixup = DjangoWorkerFixup(app)
    fixup.on_task_prerun(sender=response_process_task)
    signals.task_prerun.send(
        sender=response_process_task, task_id="t", task=response_process_task, args=(), kwargs={}
    )
    fixup.on_task_postrun(sender=response_process_task)


@pytest.mark.django_db(transaction=True)
def test_workers_keep_their_database_connection_between_tasks() -> None:
    """Celery's fixup would open a new PostgreSQL backend for every task (~5 ms each side)."""
    from django.db import connection

    # A fresh connection: one this test process opened over CONN_MAX_AGE ago is rightly dropped.
    connection.close()
    connection.ensure_connection()
    before = connection.connection
    _task_boundaries()
    _task_boundaries()
    assert connection.connection is before


@pytest.mark.django_db(transaction=True)
def test_workers_drop_an_obsolete_connection_before_a_task() -> None:
    import time

    from django.db import connection

    connection.ensure_connection()
    before = connection.connection
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    _task_boundaries()
    assert connection.connection is not before


@pytest.mark.django_db(transaction=True)
def test_the_task_connection_check_never_closes_a_connection_inside_a_transaction() -> None:
    import time

    from celery import signals
    from django.db import connection, transaction

    from feedback.tasks import response_process_task

    with transaction.atomic():
        connection.ensure_connection()
        before = connection.connection
        connection.close_at = time.monotonic() - 1
        signals.task_prerun.send(
            sender=response_process_task, task_id="t", task=response_process_task, args=(), kwargs={}
        )
        assert connection.connection is before
