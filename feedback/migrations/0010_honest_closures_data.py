"""Make existing records say only what happened (issue 23).

- ``first_contacted_at`` is the first real conversation: recomputed from the contact log,
  ignoring attempts (no answer, voicemail). An action that only had attempts goes back from
  contacted to assigned, and its first-contact clock runs again.
- The old "Tell customers" resolved every linked follow-up ("We fixed it: ...") and stamped
  ``customer_told_at`` without sending anything. Follow-ups it closed that nobody had spoken
  with are reopened (contacted when someone had spoken with the customer, else assigned:
  nobody worked them to a resolution); ``customer_told_at`` is cleared where no message went out.
Each change writes a history row (who: nobody, why: this migration), so the timeline shows it.
Reversing leaves the data as it is: the old values were false, and the history keeps them.
"""

from __future__ import annotations

from django.db import migrations
from django.db.models import Min, Q
from django.utils import timezone

ATTEMPTS = ("voicemail", "no_answer", "email_sent")
REASON = "Migration 0010: records say only what happened"


def _history(HistoricalActionItem, ActionItem, action, now):  # noqa: N803
    values = {f.attname: getattr(action, f.attname) for f in ActionItem._meta.concrete_fields}
    HistoricalActionItem.objects.create(
        **values,
        history_date=now,
        history_change_reason=REASON[:100],
        history_type="~",
        history_user_id=None,
    )


def forward(apps, schema_editor):
    ActionItem = apps.get_model("feedback", "ActionItem")  # noqa: N806
    HistoricalActionItem = apps.get_model("feedback", "HistoricalActionItem")  # noqa: N806
    ContactLog = apps.get_model("feedback", "ContactLog")  # noqa: N806
    now = timezone.now()
    conversations = dict(
        ContactLog.objects.exclude(outcome__in=ATTEMPTS)
        .values("action_id")
        .annotate(first=Min("at"))
        .values_list("action_id", "first")
    )
    with_contacts = set(ContactLog.objects.values_list("action_id", flat=True).distinct())
    changed = []
    for action in ActionItem.objects.filter(loop="inner", pk__in=sorted(with_contacts)).iterator():
        first = conversations.get(action.pk)
        dirty = False
        if action.first_contacted_at != first:
            action.first_contacted_at = first
            dirty = True
        if first is None and action.status == "contacted":
            action.status = "assigned"
            dirty = True
        if dirty:
            changed.append(action)
    fake = ActionItem.objects.filter(
        loop="inner", status="resolved", close_reason__startswith="We fixed it: "
    )
    by_pk = {a.pk: a for a in changed}
    for action in fake.iterator():
        action = by_pk.get(action.pk, action)
        action.status = "contacted" if action.first_contacted_at is not None else "assigned"
        action.closed_at = None
        action.close_reason = ""
        action.customer_told_at = None
        by_pk[action.pk] = action
    outer_told = ActionItem.objects.filter(
        Q(loop="outer") & Q(customer_told_at__isnull=False) & Q(customer_message__isnull=True)
    )
    for action in outer_told.iterator():
        action.customer_told_at = None
        by_pk[action.pk] = action
    for action in by_pk.values():
        action.version += 1
        action.save()
        _history(HistoricalActionItem, ActionItem, action, now)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0009_honest_loops_and_customer_mail")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
