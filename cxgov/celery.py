"""The Celery app. Tasks are thin (ids in, a service call); see STYLE.md.

Periodic work: each app may define ``BEAT_SCHEDULE`` in ``<app>/schedule.py``; they are
merged here and django-celery-beat's database scheduler keeps them in sync.
"""

from __future__ import annotations

import importlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxgov.settings")

app = Celery("cxgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BEAT_MODULES = ["charter.schedule", "missions.schedule", "feedback.schedule", "reports.schedule"]


def beat_schedule() -> dict:
    schedule: dict = {}
    for dotted in BEAT_MODULES:
        try:
            schedule.update(importlib.import_module(dotted).BEAT_SCHEDULE)
        except ModuleNotFoundError as exc:
            if exc.name != dotted:
                raise
    return schedule


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **_kwargs: object) -> None:
    sender.conf.beat_schedule = beat_schedule()
