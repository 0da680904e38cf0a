"""Daily roll-ups of the responses and of their theme links, kept by PostgreSQL triggers (ADR 0010).

The ROI report's two heaviest statements grouped every response of the period (a million rows
for 18 months on the benchmark copy) by month, department and program, and joined every theme
link to its response. ``reports_responseday`` and ``reports_themeday`` hold the same counts per
UTC day; the report sums a few thousand of their rows instead.

Every statement that writes ``feedback_response`` or ``feedback_response_themes`` (the ORM,
intake's one-statement insert, imports, the pipeline's set-based writes, COPY, erasure, raw
SQL) fires one statement-level trigger that appends the signed difference it made, one row per
(day, department, program) or (day, department, theme): no row is updated, so concurrent
writers never wait on each other. ``reports.rollups.rollup_fold`` adds a key's rows into one.

Theme counts carry the response's day, department and NPS. A link counts only while both it and
its response exist, whichever of the two is written first in a transaction (foreign keys are
deferred): the response's triggers count the links already there, the links' triggers count
responses already there. A response whose day, department or NPS changes moves its links.

Installing locks both tables (SHARE ROW EXCLUSIVE: writers wait, readers do not) for the time
of the back-fill, ~1 s per million responses. PostgreSQL only (SQLite computes the figures from
the responses, ``reports.rollups.enabled``); reversible.
"""

# ruff: noqa: S608 - every SQL text here is built from this module's constants, no input reaches it
from django.db import migrations, models

from cxgov.migrations_sql import postgresql_only

DAY = "(r.submitted_at AT TIME ZONE 'UTC')::date"
CES_ON_SEVEN = (
    "1.0 + 6.0 * (r.ces::double precision - COALESCE((r.scales #>> '{ces,0}')::double precision, 1.0))"
    " / NULLIF(COALESCE((r.scales #>> '{ces,1}')::double precision, 7.0)"
    " - COALESCE((r.scales #>> '{ces,0}')::double precision, 1.0), 0)"
)
# The same definitions as reports.metrics.aggregates (tests/reports/test_rollups.py holds them equal).
RESPONSE_SUMS = f"""
    sum(r.sign),
    COALESCE(sum(r.sign) FILTER (WHERE r.nps IS NOT NULL AND r.nps_band <> ''), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.nps_band = 'promoter'), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.nps_band = 'passive'), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.nps_band = 'detractor'), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.csat IS NOT NULL), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.csat IS NOT NULL AND r.csat_band = 'high'), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.ces IS NOT NULL), 0),
    COALESCE(sum(r.sign * ({CES_ON_SEVEN})) FILTER (WHERE r.ces IS NOT NULL), 0)"""
THEME_SUMS = """
    sum(r.sign),
    COALESCE(sum(r.sign) FILTER (WHERE r.nps_band = 'detractor'), 0),
    COALESCE(sum(r.sign) FILTER (WHERE r.nps IS NOT NULL AND r.nps_band <> ''), 0)"""
RESPONSE_COLUMNS = (
    "day, department_id, program_id, responses, nps_count, nps_promoters, nps_passives,"
    " nps_detractors, csat_count, csat_high, ces_count, ces_total"
)
THEME_COLUMNS = "day, department_id, theme_id, mentions, detractors, scored"
# What a response's figures depend on; an UPDATE that changes none of it adds nothing.
RESPONSE_FIELDS = "submitted_at, department_id, program_id, nps, nps_band, csat, csat_band, ces, scales"
THEME_FIELDS = "submitted_at, department_id, nps, nps_band"


def _add_responses(changes: str) -> str:
    return (
        f"INSERT INTO reports_responseday ({RESPONSE_COLUMNS}) SELECT {DAY}, r.department_id, r.program_id,"  # nosec B608
        f"{RESPONSE_SUMS} FROM ({changes}) r GROUP BY 1, 2, 3;"
    )


def _add_themes(changes: str) -> str:
    return (
        f"INSERT INTO reports_themeday ({THEME_COLUMNS}) SELECT {DAY}, r.department_id, r.theme_id,"  # nosec B608
        f"{THEME_SUMS} FROM ({changes}) r GROUP BY 1, 2, 3;"
    )


def _moved(fields: str) -> str:
    old = ", ".join(f"o.{f}" for f in fields.split(", "))
    new = ", ".join(f"n.{f}" for f in fields.split(", "))
    return f"({old}) IS DISTINCT FROM ({new})"


# Responses: counts of the rows themselves, and the theme links already there.
RESPONSE_INSERT = _add_responses("SELECT 1 AS sign, n.* FROM new_rows n") + _add_themes(
    "SELECT 1 AS sign, l.theme_id, n.* FROM new_rows n JOIN feedback_response_themes l ON l.response_id = n.id"
)
RESPONSE_DELETE = _add_responses("SELECT -1 AS sign, o.* FROM old_rows o") + _add_themes(
    "SELECT -1 AS sign, l.theme_id, o.* FROM old_rows o JOIN feedback_response_themes l ON l.response_id = o.id"
)
RESPONSE_UPDATE = _add_responses(
    f"SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_moved(RESPONSE_FIELDS)}"  # nosec B608
    f" UNION ALL SELECT 1, n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_moved(RESPONSE_FIELDS)}"
) + _add_themes(
    "SELECT -1 AS sign, l.theme_id, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id"  # nosec B608
    f" JOIN feedback_response_themes l ON l.response_id = o.id WHERE {_moved(THEME_FIELDS)}"
    " UNION ALL SELECT 1, l.theme_id, n.* FROM old_rows o JOIN new_rows n ON n.id = o.id"
    f" JOIN feedback_response_themes l ON l.response_id = n.id WHERE {_moved(THEME_FIELDS)}"
)
# Theme links: counted with their response as it is now.
LINK_INSERT = _add_themes(
    "SELECT 1 AS sign, l.theme_id, x.* FROM new_links l JOIN feedback_response x ON x.id = l.response_id"
)
LINK_DELETE = _add_themes(
    "SELECT -1 AS sign, l.theme_id, x.* FROM old_links l JOIN feedback_response x ON x.id = l.response_id"
)
LINK_UPDATE = _add_themes(
    "SELECT -1 AS sign, l.theme_id, x.* FROM old_links l JOIN feedback_response x ON x.id = l.response_id"
    " UNION ALL SELECT 1, l.theme_id, x.* FROM new_links l JOIN feedback_response x ON x.id = l.response_id"
)


def _function(name: str, body: str) -> tuple[str, str]:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN {body} RETURN NULL; END $body$",
        f"DROP FUNCTION IF EXISTS {name}()",
    )


def _trigger(name: str, event: str, table: str, referencing: str, function: str) -> tuple[str, str]:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
    )


def _truncate(name: str, table: str, function: str) -> tuple[str, str]:
    return (
        f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
    )


RESPONSES, LINKS = "feedback_response", "feedback_response_themes"
BACKFILL = _add_responses(f"SELECT 1 AS sign, r.* FROM {RESPONSES} r") + _add_themes(  # nosec B608
    f"SELECT 1 AS sign, l.theme_id, x.* FROM {LINKS} l JOIN {RESPONSES} x ON x.id = l.response_id"  # nosec B608
)

STATEMENTS = [
    # Writers wait from here to the commit, so the back-fill and the triggers see the same rows.
    (f"LOCK TABLE {RESPONSES}, {LINKS} IN SHARE ROW EXCLUSIVE MODE", "SELECT 1"),
    _function("reports_rollup_response_insert", RESPONSE_INSERT),
    _function("reports_rollup_response_delete", RESPONSE_DELETE),
    _function("reports_rollup_response_update", RESPONSE_UPDATE),
    _function("reports_rollup_link_insert", LINK_INSERT),
    _function("reports_rollup_link_delete", LINK_DELETE),
    _function("reports_rollup_link_update", LINK_UPDATE),
    _function(
        "reports_rollup_response_truncate", "DELETE FROM reports_responseday; DELETE FROM reports_themeday;"
    ),
    _function("reports_rollup_link_truncate", "DELETE FROM reports_themeday;"),
    _trigger(
        "reports_rollup_ins", "INSERT", RESPONSES, "NEW TABLE AS new_rows", "reports_rollup_response_insert"
    ),
    _trigger(
        "reports_rollup_del", "DELETE", RESPONSES, "OLD TABLE AS old_rows", "reports_rollup_response_delete"
    ),
    _trigger(
        "reports_rollup_upd",
        "UPDATE",
        RESPONSES,
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "reports_rollup_response_update",
    ),
    _truncate("reports_rollup_trunc", RESPONSES, "reports_rollup_response_truncate"),
    _trigger("reports_rollup_ins", "INSERT", LINKS, "NEW TABLE AS new_links", "reports_rollup_link_insert"),
    _trigger("reports_rollup_del", "DELETE", LINKS, "OLD TABLE AS old_links", "reports_rollup_link_delete"),
    _trigger(
        "reports_rollup_upd",
        "UPDATE",
        LINKS,
        "OLD TABLE AS old_links NEW TABLE AS new_links",
        "reports_rollup_link_update",
    ),
    _truncate("reports_rollup_trunc", LINKS, "reports_rollup_link_truncate"),
    (BACKFILL, "SELECT 1"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_response_id_cover"),
        ("feedback", "0007_pipeline_config_stamp"),
    ]

    operations = [
        migrations.CreateModel(
            name="ResponseDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("department_id", models.BigIntegerField(null=True)),
                ("program_id", models.BigIntegerField()),
                ("responses", models.IntegerField(default=0)),
                ("nps_count", models.IntegerField(default=0)),
                ("nps_promoters", models.IntegerField(default=0)),
                ("nps_passives", models.IntegerField(default=0)),
                ("nps_detractors", models.IntegerField(default=0)),
                ("csat_count", models.IntegerField(default=0)),
                ("csat_high", models.IntegerField(default=0)),
                ("ces_count", models.IntegerField(default=0)),
                ("ces_total", models.FloatField(default=0.0)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "department_id"], name="reports_responseday_day")],
            },
        ),
        migrations.CreateModel(
            name="ThemeDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("department_id", models.BigIntegerField(null=True)),
                ("theme_id", models.BigIntegerField()),
                ("mentions", models.IntegerField(default=0)),
                ("detractors", models.IntegerField(default=0)),
                ("scored", models.IntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["day", "department_id"], name="reports_themeday_day")],
            },
        ),
        postgresql_only(STATEMENTS),
    ]
