"""Periodic feedback work (merged into Celery beat by ``cxgov.celery``).

Every entry is safe to tick twice (two beats, a retried tick): the services they call
check-and-set under row locks and deduplicate notifications by key.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "feedback.tasks.outbox_sweep_task", "schedule": 30.0},
    "outbox-prune": {"task": "feedback.tasks.outbox_prune_task", "schedule": crontab(hour=3, minute=30)},
    "refused-delivery-prune": {
        "task": "feedback.tasks.refused_delivery_prune_task",
        "schedule": crontab(hour=3, minute=45),
    },
    "escalation": {"task": "feedback.tasks.escalation_run_task", "schedule": 15 * 60.0},
    "import-digest": {"task": "feedback.tasks.notification_import_digest_send_task", "schedule": 60.0},
    "notification-retry": {"task": "feedback.tasks.notification_retry_due_task", "schedule": 5 * 60.0},
    "customer-mail-sweep": {"task": "feedback.tasks.customer_deliveries_sweep_task", "schedule": 5 * 60.0},
    "verification": {"task": "feedback.tasks.verification_run_task", "schedule": crontab(hour=6, minute=0)},
    "daily-digest": {
        "task": "feedback.tasks.notification_digest_send_task",
        "schedule": crontab(hour=7, minute=0),
    },
}
