"""Browser URLs of the feedback app, gathered from its areas so each can grow on its own."""

from __future__ import annotations

import importlib

app_name = "feedback"
urlpatterns: list = []
for _area in ("urls_intake", "urls_pipeline", "urls_triage", "urls_privacy", "urls_customer_mail"):
    try:
        urlpatterns += importlib.import_module(f"feedback.{_area}").urlpatterns
    except ModuleNotFoundError as exc:
        if exc.name != f"feedback.{_area}":
            raise
