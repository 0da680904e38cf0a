"""Intake API URLs (under /api/v1/). ``intake`` is the one URL every source posts to."""

from django.urls import path

from . import api_intake

urlpatterns = [
    path("intake/<slug:slug>/", api_intake.intake_view, name="intake"),
    path("sources/", api_intake.SourceListCreateApi.as_view(), name="api-source-list"),
    path("sources/<slug:slug>/rotate/", api_intake.SourceRotateApi.as_view(), name="api-source-rotate"),
    path("sources/<slug:slug>/imports/", api_intake.ImportCreateApi.as_view(), name="api-import-create"),
    path("imports/<int:pk>/", api_intake.ImportDetailApi.as_view(), name="api-import-detail"),
    path("responses/", api_intake.ResponseListApi.as_view(), name="api-response-list"),
]
