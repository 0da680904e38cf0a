"""Periodic feedback work (merged into Celery beat by ``cxgov.celery``)."""

BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "feedback.tasks.outbox_sweep_task", "schedule": 30.0},
}
