"""The Celery app. Tasks are thin (ids in, a service call); see STYLE.md.

Periodic work: each app may define ``BEAT_SCHEDULE`` in ``<app>/schedule.py``; they are
merged here and django-celery-beat's database scheduler keeps them in sync.
"""

from __future__ import annotations

import importlib
import os

from celery import Celery, signals

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


@signals.task_prerun.connect
def _database_connections_check(sender: object = None, **_kwargs: object) -> None:
    """Before a worker's task, what Django does before a request: drop a connection that is
    too old (CONN_MAX_AGE), broken after an error, or fails its health check, keep a good one.

    Celery's fixup would close it outright (``CELERY_DB_REUSE_MAX`` in settings stops that).
    Never for an eager task: it runs inside the caller's request and transaction."""
    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections, connections

    if any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
        return
    close_old_connections()


@signals.worker_process_init.connect
def _worker_process_warm_up(**_kwargs: object) -> None:
    """Build in each pool process, before its first task, what the first task would otherwise
    build while a webhook waits: the URL resolver (``reverse`` of an action's link: ~0.5 s
    the first time, all views imported). No database access here."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018  (populates it)
