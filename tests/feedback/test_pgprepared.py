"""``cxgov.pgprepared``: intake's hot statements planned once per connection, same results."""

from __future__ import annotations

import json

import pytest
from django.db import DataError, connection, transaction
from django.test import Client

from cxgov import pgprepared
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


def _run(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        pgprepared.execute(cursor, sql, params)
        return cursor.fetchall()


def test_a_statement_is_prepared_once_and_then_only_executed():
    sql = "SELECT %s::int + %s::int, %s::text"
    assert _run(sql, [1, 2, "a"]) == [(3, "a")]
    assert _run(sql, [40, 2, "it's"]) == [(42, "it's")]  # a quote in a value stays a value
    statements = [s for s in _prepared() if "$1::int + $2::int" in s]
    assert len(statements) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    sql = "SELECT %s::int * 2"
    assert _run(sql, [4]) == [(8,)]
    connection.close()  # Django opens a new raw connection on next use; nothing is prepared there
    assert not [s for s in _prepared() if "$1::int * 2" in s]
    assert _run(sql, [5]) == [(10,)]
    assert len([s for s in _prepared() if "$1::int * 2" in s]) == 1


def test_a_failed_first_run_is_tried_again_under_a_new_name():
    sql = "SELECT 10 / %s::int"
    with pytest.raises(DataError), transaction.atomic():
        _run(sql, [0])  # PREPARE succeeded, EXECUTE failed: the statement may or may not be kept
    assert _run(sql, [5]) == [(2,)]
    assert _run(sql, [2]) == [(5,)]


def test_sql_with_a_literal_percent_runs_unprepared():
    assert _run("SELECT 'ten %%' || %s::text", ["x"]) == [("ten %x",)]
    assert not [s for s in _prepared() if "ten %" in s]


def test_past_the_cap_new_texts_run_unprepared(monkeypatch):
    monkeypatch.setattr(pgprepared, "MAX_PER_CONNECTION", 0)
    assert _run("SELECT %s::int + 100", [1]) == [(101,)]
    assert not [s for s in _prepared() if "+ 100" in s]


def test_turned_off_it_runs_the_text_as_it_is(settings):
    settings.CXGOV_PREPARED_STATEMENTS = False
    assert _run("SELECT %s::int - 1", [3]) == [(2,)]
    assert not [s for s in _prepared() if "- 1" in s]


def test_intake_prepares_its_three_statements_and_reuses_them():
    source = SourceFactory(slug="prepared")
    client = Client()

    def deliver(external_id: str) -> int:
        body = {"external_id": external_id, "customer": {"email": "ann@example.org"}, "scores": {"nps": 9}}
        reply = client.post(
            f"/api/v1/intake/{source.slug}/",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {source.token}"},
        )
        return reply.status_code

    # The test connection may have prepared some or all of them for an earlier test: what
    # counts is that all three are prepared after a delivery and nothing more after others.
    assert deliver("p-1") == 201
    first = _prepared()
    assert any("FROM feedback_source s" in s for s in first)
    assert any("LEFT JOIN LATERAL" in s for s in first)
    assert any("WITH r AS (INSERT INTO feedback_response" in s for s in first)
    assert deliver("p-2") == 201
    assert deliver("p-1") == 200  # the duplicate's probe is the same statement
    assert _prepared() == first
