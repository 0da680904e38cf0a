"""Periodic reports work (merged into Celery beat by ``cxgov.celery``).

The monthly e-mail runs daily in the first days of the month: ``report_monthly_send`` sends
once per month (``ReportDelivery.month`` is unique), so extra runs only retry a failed send.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "reports-monthly-send": {
        "task": "reports.tasks.report_monthly_send_task",
        "schedule": crontab(minute=0, hour=6, day_of_month="1-3"),
    },
    "reports-sweep": {"task": "reports.tasks.report_sweep_task", "schedule": 120.0},
    # Adds each roll-up key's rows into one (reports.rollups); cheap when there is nothing to add.
    "reports-rollup-fold": {"task": "reports.tasks.rollup_fold_task", "schedule": 60.0},
    "reports-measure-actuals": {
        "task": "reports.tasks.measure_actuals_compute_task",
        "schedule": crontab(minute=30, hour=5),
    },
}
