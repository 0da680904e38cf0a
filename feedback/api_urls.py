"""API URLs of the feedback app (under /api/v1/), gathered from its areas."""

from __future__ import annotations

import importlib

urlpatterns: list = []
for _area in ("api_urls_intake", "api_urls_pipeline", "api_urls_triage"):
    try:
        urlpatterns += importlib.import_module(f"feedback.{_area}").urlpatterns
    except ModuleNotFoundError as exc:
        if exc.name != f"feedback.{_area}":
            raise
