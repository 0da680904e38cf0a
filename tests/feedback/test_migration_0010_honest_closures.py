"""Migration 0010 makes existing records say only what happened, and reverses cleanly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from charter.models import User as CurrentUser

BEFORE = ("feedback", "0008_source_leading_indexes")
AFTER = ("feedback", "0010_honest_closures_data")


def _migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_fake_closures_reopen_and_attempts_stop_counting_as_contact() -> None:
    executor = _migrate([BEFORE])
    try:
        apps = executor.loader.project_state([BEFORE]).apps
        User = apps.get_model("charter", "User")
        Department = apps.get_model("charter", "Department")
        ActionItem = apps.get_model("feedback", "ActionItem")
        ContactLog = apps.get_model("feedback", "ContactLog")
        now = timezone.now()
        # people and departments through today's models (the charter app is migrated to its
        # latest state), read back through the historical ones
        user = User.objects.get(pk=CurrentUser.objects.create(username="mig-user").pk)
        dept = Department.objects.create(name="Mig", slug="mig")
        base = {"department": dept, "owner": user, "due_at": now, "loop": "inner"}
        told = ActionItem.objects.create(
            **base,
            title="told",
            status="resolved",
            close_reason="We fixed it: vans",
            closed_at=now,
            customer_told_at=now,
        )
        attempts = ActionItem.objects.create(
            **base, title="attempts", status="contacted", first_contacted_at=now
        )
        ContactLog.objects.create(action=attempts, channel="phone", outcome="no_answer", by=user, at=now)
        talked = ActionItem.objects.create(
            **base, title="talked", status="contacted", first_contacted_at=now - timedelta(hours=2)
        )
        ContactLog.objects.create(
            action=talked, channel="phone", outcome="voicemail", by=user, at=now - timedelta(hours=2)
        )
        ContactLog.objects.create(action=talked, channel="phone", outcome="reached", by=user, at=now)
        ActionItem.objects.create(
            **{**base, "loop": "outer"}, title="outer", status="fixed", customer_told_at=now
        )
        honest = ActionItem.objects.create(
            **base, title="honest", status="resolved", closed_at=now, first_contacted_at=now
        )
        ContactLog.objects.create(action=honest, channel="phone", outcome="reached", by=user, at=now)
    finally:
        executor = _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    apps = executor.loader.project_state([AFTER]).apps
    ActionItem = apps.get_model("feedback", "ActionItem")
    rows = {a.title: a for a in ActionItem.objects.all()}
    assert (rows["told"].status, rows["told"].closed_at, rows["told"].customer_told_at) == (
        "assigned",
        None,
        None,
    )
    assert (rows["attempts"].status, rows["attempts"].first_contacted_at) == ("assigned", None)
    assert rows["talked"].status == "contacted" and rows["talked"].first_contacted_at == now
    assert rows["outer"].customer_told_at is None  # no message ever went out
    assert rows["honest"].status == "resolved" and rows["honest"].version == 1  # untouched
    History = apps.get_model("feedback", "HistoricalActionItem")
    reasons = set(History.objects.filter(id=told.pk).values_list("history_change_reason", flat=True))
    assert any(r.startswith("Migration 0010") for r in reasons)


@pytest.mark.django_db(transaction=True)
def test_the_migrations_reverse() -> None:
    try:
        _migrate([BEFORE])
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert "feedback_customerdelivery" not in tables
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        assert "feedback_customerdelivery" in connection.introspection.table_names(cursor)
