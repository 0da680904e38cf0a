"""A second, plain psycopg2 connection to the test database: "another worker" holding locks."""

from __future__ import annotations

from typing import Any

import psycopg2
from django.conf import settings


def raw_connection() -> Any:
    db = settings.DATABASES["default"]
    return psycopg2.connect(
        dbname=db["NAME"],
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1",
        port=db.get("PORT") or 5432,
    )
