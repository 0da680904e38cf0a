"""The daily roll-ups (ADR 0010): equal to grouping the responses themselves after every kind
of write, folded without losing what open transactions add, installed with a back-fill and
reversible."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from feedback.models import Response
from reports import rollups, selectors
from reports.models import ResponseDay, ThemeDay
from tests.factories import DepartmentFactory, ProgramFactory, SourceFactory, ThemeFactory
from tests.rawdb import raw_connection
from tests.reports.helpers import scored

PERIODS = [
    selectors.Period(date(2026, 1, 1), date(2026, 12, 31)),
    selectors.Period(date(2026, 3, 1), date(2026, 3, 31)),
    selectors.Period(date(2026, 3, 15), date(2026, 3, 15)),
]


def _key(row: dict[str, Any], names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row[n] for n in names)


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]], names: tuple[str, ...]) -> None:
    by_a = {_key(r, names): r for r in a}
    by_b = {_key(r, names): r for r in b}
    assert by_a.keys() == by_b.keys()
    for key, row in by_a.items():
        other = by_b[key]
        assert row.keys() == other.keys()
        for field, value in row.items():
            if field == "ces__total":  # a sum of floats added in another order
                assert math.isclose(value or 0, other[field] or 0, abs_tol=1e-9), (key, field)
            else:
                assert value == other[field], (key, field, value, other[field])


def assert_rollups_match(*scopes: set[int] | None) -> None:
    """The roll-up path gives what grouping the responses gives, for every period and scope."""
    for period in PERIODS:
        for scope in scopes or (None,):
            _same(
                selectors.response_rollup(department_ids=scope, period=period),
                selectors.response_rollup_direct(department_ids=scope, period=period),
                ("month", "department_id", "program_id"),
            )
            _same(
                selectors.theme_rollup(department_ids=scope, period=period),
                selectors.theme_rollup_direct(department_ids=scope, period=period),
                ("theme_id", "department_id"),
            )


def at(day: int, month: int = 3, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def world() -> dict[str, Any]:
    """Two departments and responses with none; every metric, a custom CES scale, themes."""
    support, billing = DepartmentFactory(slug="support"), DepartmentFactory(slug="billing")
    sources = {
        "support": SourceFactory(program=ProgramFactory(department=support)),
        "billing": SourceFactory(program=ProgramFactory(department=billing)),
        "none": SourceFactory(program=ProgramFactory(department=DepartmentFactory(slug="gone"))),
    }
    late, rude = ThemeFactory(slug="late"), ThemeFactory(slug="rude")
    made = []
    for i in range(30):
        source = list(sources.values())[i % 3]
        when = at(1 + i % 28, month=2 + i % 3, hour=i % 24)
        if i % 4 == 0:
            r = scored(source=source, submitted_at=when, ces=1 + i % 5, scale=(1, 5))
        elif i % 4 == 1:
            r = scored(source=source, submitted_at=when, csat=1 + i % 5)
        else:
            r = scored(source=source, submitted_at=when, nps=i % 11, ces=1 + i % 7)
        if i % 2 == 0:
            r.themes.add(late)
        if i % 3 == 0:
            r.themes.add(rude)
        made.append(r)
    # Responses no department claims (routing found none).
    Response.objects.filter(source=sources["none"]).update(department=None)
    return {"departments": (support, billing), "sources": sources, "themes": (late, rude), "responses": made}


def scopes(world: dict[str, Any]) -> list[set[int] | None]:
    support, billing = world["departments"]
    return [None, {support.pk}, {support.pk, billing.pk}, set()]


@pytest.mark.django_db
def test_the_report_reads_the_rollups_not_the_responses(world):
    with CaptureQueriesContext(connection) as captured:
        selectors.response_rollup(department_ids=None, period=PERIODS[0])
        selectors.theme_rollup(department_ids=None, period=PERIODS[0])
    tables = " ".join(q["sql"] for q in captured.captured_queries)
    assert "reports_responseday" in tables and "reports_themeday" in tables
    assert "feedback_response" not in tables
    assert ResponseDay.objects.exists() and ThemeDay.objects.exists()
    assert_rollups_match(*scopes(world))


@pytest.mark.django_db
def test_rollups_stay_equal_through_every_kind_of_write(world, client):
    all_scopes = scopes(world)
    support, billing = world["departments"]
    late, rude = world["themes"]
    first, second, third, fourth, fifth = world["responses"][:5]

    # A bulk UPDATE of scores; one changing nothing the figures read adds no row.
    Response.objects.filter(pk__in=[first.pk, second.pk]).update(nps=0, nps_band="detractor")
    assert_rollups_match(*all_scopes)
    before = ResponseDay.objects.count()
    Response.objects.filter(pk=first.pk).update(comment="Edited, same scores")
    assert ResponseDay.objects.count() == before

    # Moving a response to another day, month and department moves its theme links too.
    Response.objects.filter(pk=third.pk).update(submitted_at=at(15), department=billing)
    Response.objects.filter(pk=fourth.pk).update(department=None)
    assert_rollups_match(*all_scopes)

    # Theme links removed and added, alone.
    fifth.themes.remove(late)
    fifth.themes.add(rude)
    second.themes.set([late, rude])
    assert_rollups_match(*all_scopes)

    # The ORM deletes a response's links, then the response.
    first.delete()
    assert_rollups_match(*all_scopes)

    # Raw SQL deletes the response first (foreign keys are deferred), then its links.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM feedback_response WHERE id = %s", [second.pk])
        cursor.execute("DELETE FROM feedback_response_themes WHERE response_id = %s", [second.pk])
    assert_rollups_match(*all_scopes)

    # Links written before their response (deferred keys again): the response counts them.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT max(id) + 100 FROM feedback_response")
        (new_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO feedback_response_themes (response_id, theme_id) VALUES (%s, %s)", [new_id, late.pk]
        )
        cursor.execute(
            "CREATE TEMP TABLE copied ON COMMIT DROP AS SELECT * FROM feedback_response WHERE id = %s",
            [third.pk],
        )
        cursor.execute("UPDATE copied SET id = %s, external_id = 'copied'", [new_id])
        cursor.execute("INSERT INTO feedback_response SELECT * FROM copied")
    assert_rollups_match(*all_scopes)

    # Many rows in one INSERT.
    source = world["sources"]["support"]
    Response.objects.bulk_create(
        [
            Response(
                source=source,
                program=source.program,
                department=support,
                external_id=f"bulk-{i}",
                submitted_at=at(20, hour=i),
                nps=i,
                nps_band="promoter" if i > 8 else "detractor",
            )
            for i in range(11)
        ]
    )
    assert_rollups_match(*all_scopes)

    # A webhook through the real intake endpoint (one statement writes the response).
    reply = client.post(
        reverse("intake", kwargs={"slug": source.slug}),
        data=json.dumps(
            {"external_id": "hook-1", "submitted_at": "2026-03-15T08:00:00Z", "scores": {"nps": 10}}
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {source.token}",
    )
    assert reply.status_code == 201, reply.content
    assert_rollups_match(*all_scopes)

    # Folding leaves one row per key and the same figures.
    rows = ResponseDay.objects.count() + ThemeDay.objects.count()
    removed = rollups.rollup_fold()
    assert sum(removed.values()) > 0
    assert ResponseDay.objects.count() + ThemeDay.objects.count() == rows - sum(removed.values())
    assert_rollups_match(*all_scopes)
    for model, third_key in ((ResponseDay, "program_id"), (ThemeDay, "theme_id")):
        keys = list(model.objects.values_list("day", "department_id", third_key))
        assert len(keys) == len(set(keys))
    assert rollups.rollup_fold() == {ResponseDay._meta.db_table: 0, ThemeDay._meta.db_table: 0}


@pytest.mark.django_db
def test_a_key_that_comes_to_nothing_is_folded_away(world):
    Response.objects.filter(pk__in=[r.pk for r in world["responses"]]).delete()
    assert_rollups_match(*scopes(world))
    rollups.rollup_fold()
    assert not ResponseDay.objects.exists() and not ThemeDay.objects.exists()
    assert selectors.response_rollup(department_ids=None, period=PERIODS[0]) == []


@pytest.mark.django_db(transaction=True)
def test_a_fold_keeps_what_an_open_transaction_is_adding(world):
    target = world["responses"][2]
    other = raw_connection()
    try:
        with other.cursor() as cursor:  # another worker, mid-transaction
            cursor.execute(
                "UPDATE feedback_response SET nps = 10, nps_band = 'promoter' WHERE id = %s", [target.pk]
            )
            cursor.execute("DELETE FROM feedback_response_themes WHERE response_id = %s", [target.pk])
        rollups.rollup_fold()
        other.commit()
    finally:
        other.close()
    assert_rollups_match(*scopes(world))
    rollups.rollup_fold()
    assert_rollups_match(*scopes(world))


@pytest.mark.django_db(transaction=True)
def test_one_fold_at_a_time(world):
    other = raw_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [rollups.FOLD_LOCK])
            assert rollups.rollup_fold() == {}
        other.rollback()
    finally:
        other.close()
    assert rollups.rollup_fold() != {}


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text || '.' || tgname FROM pg_trigger"
            " WHERE tgname LIKE 'reports_rollup_%%'"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_migration_backfills_what_is_there_and_reverses(world):
    assert len(_triggers()) == 8
    executor = MigrationExecutor(connection)
    executor.migrate([("reports", "0003_response_id_cover")])
    assert _triggers() == set()
    assert "reports_responseday" not in connection.introspection.table_names()
    # Written while the roll-ups do not exist: the back-fill must count it.
    late = world["themes"][0]
    extra = scored(source=world["sources"]["billing"], submitted_at=at(9), nps=3)
    extra.themes.add(late)
    executor = MigrationExecutor(connection)
    # Forward to the app's latest migration, not just 0004: leaving later ones unapplied would
    # break every test after this one on the same database.
    executor.migrate(executor.loader.graph.leaf_nodes("reports"))
    assert len(_triggers()) == 8
    assert_rollups_match(*scopes(world))
    assert ResponseDay.objects.filter(day=date(2026, 3, 9), responses__gt=0).exists()


def test_the_fold_runs_every_minute():
    from reports.schedule import BEAT_SCHEDULE

    entry = BEAT_SCHEDULE["reports-rollup-fold"]
    assert entry["task"] == "reports.tasks.rollup_fold_task"
    assert entry["schedule"] == 60.0
