"""Privacy requests (staff only): export or erase a customer's personal data."""

from __future__ import annotations

from django.urls import path

from . import views_privacy

urlpatterns = [
    path("settings/privacy/", views_privacy.privacy_view, name="privacy"),
]
