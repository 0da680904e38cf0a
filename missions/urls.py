from django.urls import path

from . import views

app_name = "missions"
urlpatterns = [
    path("mission/", views.mission_view, name="mission"),
    *views.MISSION.urls(),
    path("success/", views.success_view, name="success"),
    *views.SUCCESS.urls(),
    path("success/measures/new/", views.measure_edit_view, name="measure-new"),
    path("success/measures/<int:pk>/", views.measure_detail_view, name="measure-detail"),
    path("success/measures/<int:pk>/edit/", views.measure_edit_view, name="measure-edit"),
    path("success/measures/<int:pk>/validate/", views.measure_validate_view, name="measure-validate"),
    path("success/measures/<int:pk>/actuals/", views.measure_actual_view, name="measure-actual"),
    path(
        "success/measures/<int:pk>/actuals/<int:actual_pk>/",
        views.measure_actual_change_view,
        name="measure-actual-change",
    ),
    path("moments/", views.moment_list_view, name="moments"),
    path("moments/<int:pk>/feature/", views.moment_feature_view, name="moment-feature"),
]
