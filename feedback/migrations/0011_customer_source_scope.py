"""A vendor's person id identifies a customer within its source, not across the organisation
(issue 23); changes later vendor data makes to a customer are audited.

Forwards: each existing customer gets the source of their earliest response (customers with
no response keep ``source = NULL``); the organisation-wide unique ids and e-mails become
unique per source, with a plain index on e-mail for the cross-source link. Nobody is merged
and nobody is split: customers stay exactly who they were, they only learn where they came from.

Backwards: the organisation-wide constraints come back. Customers that are only distinct per
source (two sources' person 5975, created after this migration) would violate them, so the
later ones keep their id and e-mail in ``attributes["scoped_identity"]`` and the columns are
blanked: nothing is merged and nothing is lost.
"""

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def customers_learn_their_source(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("feedback", "Customer")
    Response = apps.get_model("feedback", "Response")
    first_source = Response.objects.filter(customer=OuterRef("pk")).order_by("id").values("source_id")[:1]
    Customer.objects.filter(source__isnull=True).update(source=Subquery(first_source))


def customers_unscope(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("feedback", "Customer")
    for column in ("external_id", "email"):
        seen: set[str] = set()
        rows = Customer.objects.exclude(**{column: ""}).order_by(column, "id").values_list("id", column)
        for pk, value in rows.iterator():
            if value not in seen:
                seen.add(value)
                continue
            customer = Customer.objects.get(pk=pk)
            kept = dict(customer.attributes or {})
            scoped = dict(kept.get("scoped_identity") or {})
            scoped[column] = value
            scoped["source_id"] = customer.source_id
            kept["scoped_identity"] = scoped
            Customer.objects.filter(pk=pk).update(**{column: "", "attributes": kept})


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0010_honest_closures_data"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="source",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="customers",
                to="feedback.source",
            ),
        ),
        migrations.RemoveConstraint(model_name="customer", name="uniq_customer_email"),
        migrations.RemoveConstraint(model_name="customer", name="uniq_customer_external_id"),
        migrations.RunPython(customers_learn_their_source, customers_unscope),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email", ""), _negated=True),
                fields=("source", "email"),
                name="uniq_customer_source_email",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id", ""), _negated=True),
                fields=("source", "external_id"),
                name="uniq_customer_source_external_id",
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("email", ""), _negated=True), fields=["email"], name="customer_email_link"
            ),
        ),
        migrations.CreateModel(
            name="CustomerChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "changes",
                    models.JSONField(default=dict, help_text='{"email": {"from": ..., "to": ...}, ...}'),
                ),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="feedback.customer",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="feedback.source",
                    ),
                ),
            ],
            options={"ordering": ["customer", "-at", "-id"]},
        ),
    ]
