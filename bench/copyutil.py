"""Bulk loading through PostgreSQL COPY, driven by the models' own metadata.

Generators give only the columns that vary; every other concrete column gets its model
default once (``auto_now`` → now, JSON → ``{}``, blank text → ``""``), so a column another
engineer adds with a default does not break the loader.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def encode(value: Any) -> str:
    """One value in COPY text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_ESCAPES)


def _default_for(field: models.Field) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if isinstance(field, models.CharField | models.TextField):
        return ""
    raise ValueError(f"{field.model.__name__}.{field.name} needs a value (NOT NULL, no default)")


def reserve_ids(model: type[models.Model], count: int) -> int:
    """Take ``count`` ids from the table's sequence; returns the first one."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        first = cursor.fetchone()[0]
        if count > 1:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first + count - 1])
    return first


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk: int = 50_000
) -> int:
    """COPY ``rows`` (values for ``columns``, by attname) into the model's table; returns count."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [c for c in columns if c not in fields]
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {unknown}")
    rest = [f for name, f in fields.items() if name not in columns and not f.primary_key]
    names = [fields[c].column for c in columns] + [f.column for f in rest]
    tail = "".join("\t" + encode(_default_for(f)) for f in rest)
    sql = f"COPY {model._meta.db_table} ({', '.join(chr(34) + n + chr(34) for n in names)}) FROM STDIN"
    total = 0
    buffer = io.StringIO()
    pending = 0
    with connection.cursor() as cursor:
        for row in rows:
            buffer.write("\t".join(encode(v) for v in row))
            buffer.write(tail)
            buffer.write("\n")
            pending += 1
            if pending >= chunk:
                buffer.seek(0)
                cursor.copy_expert(sql, buffer)
                total += pending
                buffer, pending = io.StringIO(), 0
        if pending:
            buffer.seek(0)
            cursor.copy_expert(sql, buffer)
            total += pending
    return total
