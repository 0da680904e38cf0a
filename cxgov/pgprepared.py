"""Hot statements run as PostgreSQL server-side prepared statements: planned once per connection.

psycopg2 sends every statement as text, and PostgreSQL parses and plans it anew each time. For
the webhook intake's three statements (the source with its program, department and touchpoint;
the response and customer probe; the response + delivery + outbox INSERT) planning cost more
of the server's CPU than running them: 0.41, 0.27 and 0.12 ms of plan against 0.08, 0.11 and
0.27 ms of execution (``EXPLAIN (ANALYZE, SUMMARY)`` on a loaded copy). ``execute`` prepares a
statement the first time a connection runs its SQL text (at most ``MAX_PER_CONNECTION`` texts;
SQL holding a ``%`` other than its placeholders runs as it is), in the same round trip as its first
``EXECUTE`` (``PREPARE …; EXECUTE …``), and afterwards only sends ``EXECUTE name(params)``.

The statement's name is derived from its SQL text, so each distinct text is prepared once per
connection whoever runs it. Django replaces its raw connection after a reconnect: what was
prepared is remembered against the raw connection object, so a new one starts afresh. A failed
first run may or may not have left the statement prepared (``PREPARE`` is not undone by a
rollback), so the next try uses a new name rather than guess. Parameters are still passed by
psycopg2 and typed by the statement (``$n`` takes the type its column or comparison gives it).

It pays only where PostgreSQL settles on the statement's generic plan (after five runs, when
that plan's estimate is no worse than the custom ones), as it does for intake's lookups by key.
The triage inbox's shapes were tried and are not prepared: their generic plans ran 9-60 ms
against 0.6-0.8 ms for a custom plan, so PostgreSQL (rightly) plans them every time anyway.

This saves the *server's* parsing and planning. ``cxgov/sqlshape.py`` and ``feedback/prepared.py``
save the *client's* work, Django compiling a queryset to SQL; the two combine.

Anything that is not PostgreSQL (the embedded SQLite default) runs the SQL as it is. A pooler
in transaction mode (PgBouncer before 1.21) does not keep prepared statements on a connection:
set ``CXGOV_PREPARED_STATEMENTS=0`` there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.backends.utils import CursorWrapper

_PLACEHOLDER = re.compile(r"%s")
_STATE = "_cxgov_prepared"  # a _Prepared, on the DatabaseWrapper


@dataclass
class _Prepared:
    """What one raw connection has prepared: statement name by SQL text."""

    raw: Any
    names: dict[str, str] = field(default_factory=dict)
    generation: int = 0  # how many PREPAREs were tried: a fresh name for each


MAX_PER_CONNECTION = 200  # past this, new texts run unprepared (a backend keeps each plan)


def _preparable(sql: str) -> bool:
    """Only ``%s`` placeholders, no other ``%`` (a literal ``%%`` would need unescaping)."""
    return "%%" not in sql and sql.count("%") == sql.count("%s")


def _numbered(sql: str) -> tuple[str, int]:
    """``%s`` placeholders as ``$1 … $n``."""
    count = 0

    def number(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql), count


def execute(cursor: CursorWrapper, sql: str, params: Sequence[Any]) -> None:
    """``cursor.execute(sql, params)``, as a prepared statement where that is PostgreSQL's."""
    db = cursor.db
    if db.vendor != "postgresql" or not settings.CXGOV_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    raw = db.connection
    state: _Prepared | None = getattr(db, _STATE, None)
    if state is None or state.raw is not raw:
        state = _Prepared(raw)
        setattr(db, _STATE, state)
    placeholders = ", ".join(["%s"] * len(params))
    call = f"({placeholders})" if params else ""
    name = state.names.get(sql)
    if name is not None:
        cursor.execute(f"EXECUTE {name}{call}", params)
        return
    if len(state.names) >= MAX_PER_CONNECTION or not _preparable(sql):
        cursor.execute(sql, params)
        return
    numbered, count = _numbered(sql)
    if count != len(params):
        raise ValueError(f"{count} placeholders, {len(params)} parameters")
    state.generation += 1
    name = f"cx_{hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]}_{state.generation}"
    cursor.execute(f"PREPARE {name} AS {numbered}; EXECUTE {name}{call}", params)
    state.names[sql] = name  # only once it ran: a failed first run leaves the name unknown
