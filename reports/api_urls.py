from django.urls import include, path

from . import api

_patterns = [
    path("metrics/", api.MetricsView.as_view(), name="metrics"),
    path("reports/", api.ReportListView.as_view(), name="report-list"),
    path("reports/<int:pk>/", api.ReportDetailView.as_view(), name="report-detail"),
]

urlpatterns = [path("", include((_patterns, "reports-api")))]
