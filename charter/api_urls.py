from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api
from .document_api import document_api_urls
from .views import CHARTER

router = SimpleRouter()
router.register("priorities", api.PriorityViewSet, basename="api-priority")
router.register("departments", api.DepartmentViewSet, basename="api-department")
router.register("goals", api.DepartmentGoalViewSet, basename="api-goal")
router.register("journey/stages", api.JourneyStageViewSet, basename="api-journey-stage")
router.register("journey/touchpoints", api.TouchpointViewSet, basename="api-touchpoint")

urlpatterns = [
    path("charter/contents/", api.CharterView.as_view(), name="api-charter-contents"),
    path("charter/raci/", api.RaciCellView.as_view(), name="api-charter-raci"),
    *document_api_urls(CHARTER, "charter"),
    *router.urls,
]
