"""The pipeline's configuration stamp (see ``feedback.pipeline_config``)."""

import uuid

from django.db import migrations, models


def _seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("feedback", "PipelineConfigStamp").objects.get_or_create(
        pk=1, defaults={"stamp": uuid.uuid4().hex}
    )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0006_triage_tab_counts")]

    operations = [
        migrations.CreateModel(
            name="PipelineConfigStamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stamp", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(_seed, migrations.RunPython.noop),
    ]
