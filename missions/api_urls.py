from rest_framework.routers import SimpleRouter

from charter.document_api import document_api_urls

from . import api
from .views import MISSION, SUCCESS

router = SimpleRouter()
router.register("success-measures", api.SuccessMeasureViewSet, basename="api-success-measure")
router.register("moments", api.MissionMomentViewSet, basename="api-moment")

urlpatterns = [
    *document_api_urls(MISSION, "mission"),
    *document_api_urls(SUCCESS, "success-statement"),
    *router.urls,
]
