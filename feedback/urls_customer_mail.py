"""The public unsubscribe link of customer e-mails (no login)."""

from __future__ import annotations

from django.urls import path

from . import views_customer_mail

urlpatterns = [
    path("unsubscribe/<str:token>/", views_customer_mail.unsubscribe_view, name="unsubscribe"),
]
