"""Browser URLs of the intake screens (namespace ``feedback``)."""

from django.urls import path

from . import views_intake as views

urlpatterns = [
    path("programs/", views.program_list_view, name="program-list"),
    path("programs/new/", views.program_edit_view, name="program-create"),
    path("programs/<slug:slug>/edit/", views.program_edit_view, name="program-edit"),
    path("programs/<slug:slug>/sources/", views.program_sources_view, name="program-sources"),
    path(
        "programs/<slug:slug>/sources/<slug:source_slug>/rotate/",
        views.source_rotate_view,
        name="source-rotate",
    ),
    path(
        "programs/<slug:slug>/sources/<slug:source_slug>/import/",
        views.import_upload_view,
        name="import-upload",
    ),
    path("imports/<int:pk>/", views.import_detail_view, name="import-detail"),
    path("imports/<int:pk>/start/", views.import_start_view, name="import-start"),
    path("feedback/new/", views.manual_entry_view, name="manual-entry"),
    path("responses/", views.response_list_view, name="response-list"),
    path("responses/<int:pk>/", views.response_detail_view, name="response-detail"),
]
