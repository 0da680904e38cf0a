"""Daily roll-ups of the responses and their themes (ADR 0010): read, and folded.

``reports_responseday`` and ``reports_themeday`` are written only by the PostgreSQL triggers of
``reports/migrations/0004_rollups.py``: each statement that changes responses or theme links
appends its signed difference. A key's figures are the sum of its rows, so a reader always
sums, and sees exactly what the same statement over ``feedback_response`` would (both read one
snapshot). ``rollup_fold`` replaces each key's rows by one; until it runs, reads only get a
little slower.

On SQLite (no triggers) ``enabled()`` is false and the report groups the responses directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from .models import ResponseDay, ThemeDay

# Advisory lock key of the fold ("rollfold"): one fold at a time, the others return at once.
FOLD_LOCK = 0x726F6C6C666F6C64 & 0x7FFFFFFFFFFFFFFF

# What a roll-up row holds per metric (CES as a sum, not a mean, so that rows add up); the
# ``ResponseDay`` column of ``nps``'s ``count`` is ``nps_count``.
ROLLUP_KEYS = {
    "nps": ("count", "promoters", "passives", "detractors"),
    "csat": ("count", "high"),
    "ces": ("count", "total"),
}
# Row key as ``selectors.response_rollup`` gives it -> ResponseDay column.
_RESPONSE_SUMS = {
    f"{metric}__{key}": f"{metric}_{key}" for metric, keys in ROLLUP_KEYS.items() for key in keys
}


def enabled() -> bool:
    """The roll-ups exist (and triggers keep them) on PostgreSQL only."""
    return connection.vendor == "postgresql"


def _in_scope(qs: Any, *, department_ids: set[int] | None, start: Any, end: Any) -> Any:
    qs = qs.filter(day__gte=start, day__lte=end)
    if department_ids is not None:
        qs = qs.filter(department_id__in=department_ids)
    return qs.order_by()


def response_months(*, department_ids: set[int] | None, start: Any, end: Any) -> list[dict[str, Any]]:
    """The rows of ``selectors.response_rollup`` (month × department × program, UTC days
    ``start``..``end`` inclusive) from the daily roll-up. One query."""
    qs = _in_scope(ResponseDay.objects.all(), department_ids=department_ids, start=start, end=end)
    rows = list(
        qs.annotate(month=TruncMonth("day"))
        .values("month", "department_id", "program_id")
        .alias(n=Sum("responses"))
        .annotate(**{key: Sum(column) for key, column in _RESPONSE_SUMS.items()})
        .filter(n__gt=0)
    )
    for row in rows:
        row["month"] = datetime.combine(row["month"], time.min, tzinfo=UTC)
    return rows


def theme_departments(*, department_ids: set[int] | None, start: Any, end: Any) -> list[dict[str, Any]]:
    """The rows of ``selectors.theme_rollup`` (theme × department) from the daily roll-up."""
    qs = _in_scope(ThemeDay.objects.all(), department_ids=department_ids, start=start, end=end)
    return list(
        qs.values("theme_id", "department_id")
        .annotate(mentions=Sum("mentions"), detractors=Sum("detractors"), scored=Sum("scored"))
        .filter(mentions__gt=0)
    )


_FOLDS: dict[str, tuple[str, Iterable[str], str]] = {
    ResponseDay._meta.db_table: ("program_id", ["responses", *_RESPONSE_SUMS.values()], "responses"),
    ThemeDay._meta.db_table: ("theme_id", ["mentions", "detractors", "scored"], "mentions"),
}


def _fold_sql(table: str, third: str, counts: Iterable[str], size: str) -> str:
    counts = list(counts)
    sums = ", ".join(f"sum({c})" for c in counts)
    # Table and column names are this module's constants.
    return f"""
        WITH keys AS (
            SELECT day, department_id, {third} FROM {table}
            GROUP BY day, department_id, {third} HAVING count(*) > 1 OR sum({size}) = 0
        ), gone AS (
            DELETE FROM {table} t USING keys k
            WHERE t.day = k.day AND t.department_id IS NOT DISTINCT FROM k.department_id
              AND t.{third} = k.{third}
            RETURNING t.*
        ), added AS (
            INSERT INTO {table} (day, department_id, {third}, {", ".join(counts)})
            SELECT day, department_id, {third}, {sums} FROM gone
            GROUP BY day, department_id, {third} HAVING sum({size}) <> 0
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM added)
    """  # noqa: S608  # nosec B608


def rollup_fold() -> dict[str, int]:
    """Add each key's rows into one row and drop keys that came to nothing; returns the rows
    removed per table. Rows of transactions still open are not seen, so they stay for the
    next fold; a fold already running elsewhere makes this one return ``{}``."""
    if not enabled():
        return {}
    removed: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK])
        if not cursor.fetchone()[0]:
            return {}
        for table, (third, counts, size) in _FOLDS.items():
            cursor.execute(_fold_sql(table, third, counts, size))
            gone, added = cursor.fetchone()
            removed[table] = gone - added
    return removed
