"""A covering index of the responses in id order, for the ROI report's theme roll-up.

``theme_rollup`` joins every theme link (~0.5M at 1M responses) to its response and reads
the response's date, department and NPS. PostgreSQL hashed the responses (a parallel hash
join over 28k heap pages: ~0.9 s of CPU over three processes). With this index both sides
of the join come in ``response_id`` order without reading the heap (the theme links'
``response_id`` index and this one), so one process merges them: ~0.4 s of one core on the
benchmark copy (1M responses, serial, backend CPU). The report runs that query on its own
connection (``reports.selectors._theme_figures``) beside the rest of the report.

PostgreSQL only, like ``0002_detractor_index_reports``; reversible. Built ``CONCURRENTLY``
(so the migration is not atomic): a plain build blocks every write to the responses (intake,
imports) while it reads them, ~3 s at 1M rows, and web migrates before it rolls.
"""

from django.db import migrations

from cxgov.migrations_sql import postgresql_only

CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS feedback_response_id_theme_cover "
    "ON feedback_response (id) INCLUDE (submitted_at, department_id, nps, nps_band)"
)
DROP = "DROP INDEX CONCURRENTLY IF EXISTS feedback_response_id_theme_cover"


class Migration(migrations.Migration):
    atomic = False  # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("reports", "0002_detractor_index_reports")]

    operations = [postgresql_only([(CREATE, DROP)])]
