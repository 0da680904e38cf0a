"""Periodic charter work (merged into Celery beat by ``cxgov.celery``); safe to tick twice."""

BEAT_SCHEDULE = {
    "inbox-email-retry": {"task": "charter.tasks.inbox_email_retry_task", "schedule": 5 * 60.0},
}
