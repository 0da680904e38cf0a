"""Drop single-column indexes that a wider index already leads with (issue 9, figure 1).

``feedback_response``'s foreign-key indexes on ``source_id``, ``program_id`` and
``department_id`` duplicate the leading column of ``uniq_response_source_external_id``,
``(program_id, submitted_at)`` and ``(department_id, submitted_at)``. Besides costing every
insert, the one on ``source_id`` misled the planner: for a source created after the last
ANALYZE, both it and the unique index estimate one row, the smaller single-column index wins,
and intake's lookup by (source, external_id) filtered every response of that source (13.7 ms
at 44k responses instead of 0.1 ms). ``feedback_rawdelivery`` had the same trap for the
vendor delivery-id check (``source_id`` and ``delivery_id`` indexed apart); one index on
(source_id, delivery_id) replaces both.

The indexes are dropped by name, not through ``AlterField``: that would also drop and re-add
each foreign key, re-checking a million rows under a lock. Reversible: backwards recreates
them under the names Django gave them (the ``_like`` pattern index on PostgreSQL only).
"""

from django.db import migrations, models

from cxgov.migrations_sql import postgresql_only

DROPPED = [
    ("feedback_response_source_id_448eb70a", "feedback_response", "source_id"),
    ("feedback_response_program_id_811b336f", "feedback_response", "program_id"),
    ("feedback_response_department_id_016ec758", "feedback_response", "department_id"),
    ("feedback_rawdelivery_source_id_065e6461", "feedback_rawdelivery", "source_id"),
    ("feedback_rawdelivery_delivery_id_e36a9f90", "feedback_rawdelivery", "delivery_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("charter", "0003_governance_documents"),
        ("feedback", "0007_pipeline_config_stamp"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="rawdelivery",
                    name="delivery_id",
                    field=models.CharField(blank=True, help_text="Vendor delivery id", max_length=255),
                ),
                migrations.AlterField(
                    model_name="rawdelivery",
                    name="source",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.CASCADE,
                        related_name="deliveries",
                        to="feedback.source",
                    ),
                ),
                migrations.AlterField(
                    model_name="response",
                    name="department",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.SET_NULL,
                        related_name="responses",
                        to="charter.department",
                    ),
                ),
                migrations.AlterField(
                    model_name="response",
                    name="program",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.PROTECT,
                        related_name="responses",
                        to="feedback.program",
                    ),
                ),
                migrations.AlterField(
                    model_name="response",
                    name="source",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.PROTECT,
                        related_name="responses",
                        to="feedback.source",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name, _table, _column in DROPPED],
                    [f'CREATE INDEX "{name}" ON "{table}" ("{column}")' for name, table, column in DROPPED],
                ),
                postgresql_only(
                    [
                        (
                            'DROP INDEX IF EXISTS "feedback_rawdelivery_delivery_id_e36a9f90_like"',
                            'CREATE INDEX "feedback_rawdelivery_delivery_id_e36a9f90_like" '
                            'ON "feedback_rawdelivery" ("delivery_id" varchar_pattern_ops)',
                        )
                    ]
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="rawdelivery",
            index=models.Index(fields=["source", "delivery_id"], name="rawdelivery_source_delivery"),
        ),
    ]
