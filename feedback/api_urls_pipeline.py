"""Pipeline API URLs (under /api/v1/)."""

from django.urls import path

from . import api_pipeline

urlpatterns = [
    path("actions/", api_pipeline.ActionItemListApi.as_view(), name="api-action-list"),
    path("actions/<int:pk>/", api_pipeline.ActionItemDetailApi.as_view(), name="api-action-detail"),
]
