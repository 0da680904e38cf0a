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
each foreign key, re-checking a million rows under a lock. On PostgreSQL every step is
``CONCURRENTLY`` (so the migration is not atomic): building the new index over millions of
raw deliveries must not hold intake's inserts for its whole build. The new index comes first,
so the delivery-id check is never without one. Reversible: backwards recreates the dropped
indexes under the names Django gave them (the ``_like`` pattern index on PostgreSQL only).
If a concurrent build fails it leaves an invalid index of that name: drop it and migrate again.
"""

from typing import Any

from django.db import migrations, models

ADDED = ("rawdelivery_source_delivery", "feedback_rawdelivery", '"source_id", "delivery_id"')
LIKE = (
    "feedback_rawdelivery_delivery_id_e36a9f90_like",
    "feedback_rawdelivery",
    '"delivery_id" varchar_pattern_ops',
)
DROPPED = [
    ("feedback_response_source_id_448eb70a", "feedback_response", '"source_id"'),
    ("feedback_response_program_id_811b336f", "feedback_response", '"program_id"'),
    ("feedback_response_department_id_016ec758", "feedback_response", '"department_id"'),
    ("feedback_rawdelivery_source_id_065e6461", "feedback_rawdelivery", '"source_id"'),
    ("feedback_rawdelivery_delivery_id_e36a9f90", "feedback_rawdelivery", '"delivery_id"'),
]


def _indexes(schema_editor: Any) -> tuple[str, list[tuple[str, str, str]]]:
    """The ``CONCURRENTLY`` keyword for this database, and the dropped indexes it has."""
    if schema_editor.connection.vendor == "postgresql":
        return "CONCURRENTLY ", [*DROPPED, LIKE]
    return "", DROPPED


def _create(schema_editor: Any, how: str, name: str, table: str, columns: str) -> None:
    schema_editor.execute(f'CREATE INDEX {how}"{name}" ON "{table}" ({columns})')


def _drop(schema_editor: Any, how: str, name: str) -> None:
    schema_editor.execute(f'DROP INDEX {how}IF EXISTS "{name}"')


def forwards(apps: Any, schema_editor: Any) -> None:
    how, dropped = _indexes(schema_editor)
    _create(schema_editor, how, *ADDED)
    for name, _table, _columns in dropped:
        _drop(schema_editor, how, name)


def backwards(apps: Any, schema_editor: Any) -> None:
    how, dropped = _indexes(schema_editor)
    for index in dropped:
        _create(schema_editor, how, *index)
    _drop(schema_editor, how, ADDED[0])


class Migration(migrations.Migration):
    atomic = False  # CREATE / DROP INDEX CONCURRENTLY cannot run in a transaction

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
                migrations.AddIndex(
                    model_name="rawdelivery",
                    index=models.Index(fields=["source", "delivery_id"], name="rawdelivery_source_delivery"),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
