"""Indexes for the triage inbox's tab counts (helper: triage).

Every inbox tab but "Closed" counts a subset of the open actions (open, new, mine, overdue,
waiting, systemic, snoozed). With every column those counts test in the index, PostgreSQL
answers them with an index-only scan of the open actions (13k of 100k in the benchmark)
instead of reading the whole table (one aggregate over every action: 58 ms for the CX
leader, 24 ms for one department): ~3 ms and ~1 ms (EXPLAIN ANALYZE on the 1M-response /
100k-action benchmark database, a shared and noisy machine).

"Closed" is one COUNT over the closed actions; a partial index of just their department
is about half the size of the (department, status, due_at) index it used: ~19 → ~9.5 ms for
the CX leader (87k closed actions), ~3 → ~2.2 ms for one department.

PostgreSQL only (the embedded SQLite default has no INCLUDE), each statement with its reverse.
"""

from django.db import migrations

from cxgov.migrations_sql import postgresql_only

OPEN = "('new', 'assigned', 'contacted', 'waiting', 'investigating')"
CLOSED = "('resolved', 'unreachable', 'no_action', 'fixed', 'verified', 'not_moved')"

STATEMENTS = [
    (
        "CREATE INDEX IF NOT EXISTS feedback_action_open_tabs ON feedback_actionitem (department_id) "
        f"INCLUDE (id, status, owner_id, loop, due_at, snoozed_until) WHERE status IN {OPEN}",
        "DROP INDEX IF EXISTS feedback_action_open_tabs",
    ),
    (
        "CREATE INDEX IF NOT EXISTS feedback_action_closed_dept ON feedback_actionitem (department_id) "
        f"WHERE status IN {CLOSED}",
        "DROP INDEX IF EXISTS feedback_action_closed_dept",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("feedback", "0005_read_path_indexes")]

    operations = [postgresql_only(STATEMENTS)]
