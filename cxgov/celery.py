"""The Celery app. Tasks are thin (ids in, a service call); see STYLE.md."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxgov.settings")

app = Celery("cxgov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
