"""Triage screens: inbox, my actions, action page and its forms, systemic board."""

from __future__ import annotations

from django.urls import path

from .triage import views

urlpatterns = [
    path("triage/", views.triage_view, name="triage"),
    path("triage/bulk/", views.bulk_view, name="triage-bulk"),
    path("triage/undo/", views.undo_view, name="triage-undo"),
    path("my/", views.my_actions_view, name="my-actions"),
    path("actions/<int:pk>/", views.action_detail_view, name="action-detail"),
    path("actions/<int:pk>/<slug:op>/", views.action_operate_view, name="action-operate"),
    path("systemic/", views.systemic_view, name="systemic"),
    path("systemic/<int:pk>/tell/", views.systemic_tell_view, name="systemic-tell"),
    path("systemic/<int:pk>/deliveries/", views.systemic_deliveries_view, name="systemic-deliveries"),
]
