from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("dashboard/export/<slug:table>.csv", views.dashboard_export_view, name="dashboard-export"),
    path("reports/", views.report_list_view, name="report-list"),
    path("reports/<int:pk>/", views.report_detail_view, name="report-detail"),
    path("reports/<int:pk>/download/", views.report_download_view, name="report-download"),
    path("reports/roi/assumptions/", views.roi_assumption_list_view, name="roi-assumptions"),
    path("reports/roi/assumptions/new/", views.roi_assumption_edit_view, name="roi-assumption-create"),
    path(
        "reports/roi/assumptions/<int:pk>/edit/", views.roi_assumption_edit_view, name="roi-assumption-edit"
    ),
    path(
        "reports/roi/assumptions/<int:pk>/validate/",
        views.roi_assumption_validate_view,
        name="roi-assumption-validate",
    ),
    path("finance/validation/", views.validation_queue_view, name="validation-queue"),
    path(
        "finance/validation/<slug:kind>/<int:pk>/validate/",
        views.validation_validate_view,
        name="validation-validate",
    ),
    path(
        "finance/validation/<slug:kind>/<int:pk>/return/",
        views.validation_return_view,
        name="validation-return",
    ),
]
