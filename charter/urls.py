from django.urls import path

from . import views

app_name = "charter"
urlpatterns = [
    path("departments/", views.department_list_view, name="department-list"),
    path("departments/<slug:slug>/", views.department_detail_view, name="department-detail"),
]
