from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from charter.auth import ThrottledPasswordResetView

from . import views


def _docs(view: Any) -> Any:
    return view if settings.CXGOV_PUBLIC_API_DOCS else login_required(view)


urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    # The schema answers signed-in users and tokens (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]);
    # the docs pages send a browser to the login page. CXGOV_PUBLIC_API_DOCS=1 opens both.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", _docs(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", _docs(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    path("api/v1/", include("cxgov.api_urls")),
    path("", include("charter.urls")),
    path("", include("missions.urls")),
    path("", include("feedback.urls")),
    path("", include("reports.urls")),
]
