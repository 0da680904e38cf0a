"""Indexes and planner statistics the read paths need at 1M responses / 100k actions.

Found with the benchmark suite (``bench/``, figures 4 and 5) and ``EXPLAIN ANALYZE``:

- Metrics (NPS/CSAT by month, scoped to departments): with no statistics on
  ``date_trunc('month', submitted_at AT TIME ZONE 'UTC')`` the planner guessed ~75k groups
  instead of ~19, sorted 225k rows on disk and used GroupAggregate; the expression
  statistics give it the real count (HashAggregate, no sort). A covering index on
  (department, submitted_at) with the scored columns lets the per-department aggregate be an
  index-only scan instead of reading every wide heap row (comments, answers): 1.24 s → 0.18 s
  for one department on this machine.
- Triage inbox (open actions ordered by due date, 50 a page): partial indexes on the open
  statuses make page N an ordered index scan with a LIMIT instead of sorting every open
  action: 60 ms → 0.2 ms, whatever the number of actions.

Plain SQL because Django has no CREATE STATISTICS; PostgreSQL only (the embedded SQLite
default has neither statistics objects nor INCLUDE), each statement with its reverse.
"""

from django.db import migrations

from cxgov.migrations_sql import postgresql_only

OPEN = "('new', 'assigned', 'contacted', 'waiting', 'investigating')"

STATEMENTS = [
    (
        "CREATE STATISTICS IF NOT EXISTS feedback_response_month_stats "
        "ON (date_trunc('month', submitted_at AT TIME ZONE 'UTC')) FROM feedback_response",
        "DROP STATISTICS IF EXISTS feedback_response_month_stats",
    ),
    (
        "CREATE INDEX IF NOT EXISTS feedback_response_dept_month_cover "
        "ON feedback_response (department_id, submitted_at) INCLUDE (id, nps, nps_band, csat, csat_band)",
        "DROP INDEX IF EXISTS feedback_response_dept_month_cover",
    ),
    (
        f"CREATE INDEX IF NOT EXISTS feedback_action_open_due ON feedback_actionitem (due_at, id) "
        f"WHERE status IN {OPEN}",
        "DROP INDEX IF EXISTS feedback_action_open_due",
    ),
    (
        f"CREATE INDEX IF NOT EXISTS feedback_action_open_dept_due "
        f"ON feedback_actionitem (department_id, due_at, id) WHERE status IN {OPEN}",
        "DROP INDEX IF EXISTS feedback_action_open_dept_due",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("feedback", "0004_privacy_request")]

    operations = [postgresql_only(STATEMENTS)]
