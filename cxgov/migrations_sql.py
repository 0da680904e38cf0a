"""Migrations that run PostgreSQL-only SQL: partial and covering indexes, extended statistics.

The embedded SQLite default has no ``INCLUDE`` or ``CREATE STATISTICS`` and does not need the
read-path indexes, so these statements run on PostgreSQL only. Each comes with its reverse:
forwards in order, backwards in reverse order, so every such migration is reversible. The
steps are ``functools.partial`` of module-level functions, which ``squashmigrations`` can
write out.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import migrations


def _forwards(statements: Sequence[tuple[str, str]], apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for create, _drop in statements:
            schema_editor.execute(create)


def _backwards(statements: Sequence[tuple[str, str]], apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for _create, drop in reversed(statements):
            schema_editor.execute(drop)


def postgresql_only(statements: Sequence[tuple[str, str]]) -> migrations.RunPython:
    """A ``RunPython`` step running each ``(forwards, backwards)`` SQL pair on PostgreSQL only."""
    pairs = tuple(statements)
    return migrations.RunPython(partial(_forwards, pairs), partial(_backwards, pairs))
