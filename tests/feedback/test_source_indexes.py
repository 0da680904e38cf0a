"""Lookups by source read only the rows they ask for, even for a source the planner has no
statistics on yet (issue 9; migration ``feedback/0008_source_leading_indexes``).

A single-column index on ``source_id`` beside the unique (source_id, external_id) index is
smaller, and for a source created after the last ANALYZE both estimate one row: the planner
took the small one and filtered every response of the source, once per webhook or per vendor
delivery-id check. PostgreSQL only (the plans and the index catalogue are its own).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from feedback.models import RawDelivery, Response
from tests.factories import SourceFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans and catalogue"),
]

WRITE_PATH_TABLES = ("feedback_response", "feedback_rawdelivery")


def _plain_indexes(table: str) -> list[tuple[str, list[int], list[int]]]:
    """(name, key columns, operator classes) of each btree index on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, (i.indkey::int2[])[0:i.indnkeyatts - 1], i.indclass::oid[], "
            "i.indpred IS NOT NULL OR i.indexprs IS NOT NULL "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "WHERE i.indrelid = %s::regclass AND am.amname = 'btree'",
            [table],
        )
        return [
            (name, list(keys), list(classes))
            for name, keys, classes, special in cursor.fetchall()
            if not special
        ]


@pytest.mark.parametrize("table", WRITE_PATH_TABLES)
def test_no_single_column_index_repeats_the_lead_of_a_wider_one(table: str) -> None:
    indexes = _plain_indexes(table)
    wider = [(name, keys, classes) for name, keys, classes in indexes if len(keys) > 1]
    repeated = [
        (name, other)
        for name, keys, classes in indexes
        if len(keys) == 1
        for other, other_keys, other_classes in wider
        if other_keys[0] == keys[0] and other_classes[0] == classes[0]
    ]
    assert wider, f"{table} should have composite indexes to compare against"
    assert repeated == [], f"single-column indexes that a wider index already leads with: {repeated}"


def _buffers(queryset: Any) -> int:
    """Shared buffers one run of ``queryset`` touched (EXPLAIN ANALYZE, BUFFERS)."""
    plan = queryset.explain(format="json", analyze=True, buffers=True)
    top = json.loads(plan)[0]["Plan"]
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


@pytest.fixture
def unknown_to_the_planner() -> Any:
    """A source with 3,000 responses and deliveries written after the last ANALYZE, which saw
    only another source's rows: the planner estimates one row for anything about it."""
    seen = SourceFactory(slug="seen-by-analyze")
    _rows(seen, 2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE feedback_response")
        cursor.execute("ANALYZE feedback_rawdelivery")
    new = SourceFactory(slug="created-since", program=seen.program)
    _rows(new, 3000)
    return new


def _rows(source: Any, count: int) -> None:
    program = source.program
    responses = Response.objects.bulk_create(
        Response(
            source=source, program=program, department=program.department, external_id=f"{source.slug}-{i}"
        )
        for i in range(count)
    )
    RawDelivery.objects.bulk_create(
        RawDelivery(
            source=source,
            body=b"{}",
            verdict=RawDelivery.Verdict.CREATED,
            status_code=201,
            delivery_id=f"{source.slug}-delivery-{i}",
            response=response,
        )
        for i, response in enumerate(responses)
    )


def test_the_response_lookup_reads_one_entry_not_the_whole_source(unknown_to_the_planner: Any) -> None:
    source = unknown_to_the_planner
    for external_id in (f"{source.slug}-2999", "not-there"):
        lookup = Response.objects.filter(source=source, external_id=external_id)
        assert _buffers(lookup) < 12, lookup.explain(analyze=True, buffers=True)


def test_the_delivery_id_check_reads_one_entry_not_the_whole_source(unknown_to_the_planner: Any) -> None:
    source = unknown_to_the_planner
    for delivery_id in (f"{source.slug}-delivery-2999", "not-there"):
        # The check intake runs when a vendor sends a delivery id (feedback/intake.py, _store).
        seen = RawDelivery.objects.filter(
            source=source, delivery_id=delivery_id, response__isnull=False
        ).exclude(verdict=RawDelivery.Verdict.REJECTED)
        assert _buffers(seen) < 12, seen.explain(analyze=True, buffers=True)


def _index_names() -> set[str]:
    return {name for table in WRITE_PATH_TABLES for name, _keys, _classes in _plain_indexes(table)}


@pytest.mark.django_db(transaction=True)
def test_the_migration_reverses() -> None:
    dropped = {
        "feedback_response_source_id_448eb70a",
        "feedback_response_program_id_811b336f",
        "feedback_response_department_id_016ec758",
        "feedback_rawdelivery_source_id_065e6461",
        "feedback_rawdelivery_delivery_id_e36a9f90",
        "feedback_rawdelivery_delivery_id_e36a9f90_like",
    }
    assert not dropped & _index_names()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("feedback")
    # later migrations (0011: customer constraints) are undone and redone outside the count
    MigrationExecutor(connection).migrate([("feedback", "0008_source_leading_indexes")])
    with CaptureQueriesContext(connection) as backwards:
        MigrationExecutor(connection).migrate([("feedback", "0007_pipeline_config_stamp")])
    try:
        names = _index_names()
        assert dropped <= names
        assert "rawdelivery_source_delivery" not in names
    finally:
        with CaptureQueriesContext(connection) as forwards:
            MigrationExecutor(connection).migrate([("feedback", "0008_source_leading_indexes")])
        executor = MigrationExecutor(connection)  # and the later migrations, for the tests after this one
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert not dropped & _index_names()
    assert "rawdelivery_source_delivery" in _index_names()
    # Neither way holds intake's writes for a whole index build, nor re-checks a foreign key.
    statements = [q["sql"] for q in [*backwards.captured_queries, *forwards.captured_queries]]
    index_steps = [sql for sql in statements if " INDEX " in sql]
    assert len(index_steps) == 2 * (len(dropped) + 1), index_steps
    assert all(" INDEX CONCURRENTLY " in sql for sql in index_steps), index_steps
    assert not [sql for sql in statements if "CONSTRAINT" in sql]
    MigrationExecutor(connection).migrate(latest)
