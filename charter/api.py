"""Charter API: contents (roles, RACI, cadence, decisions, priorities), priorities with reorder,
departments with goals (scoped), journey stages and touchpoints. Permissions are the services'."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from . import documents, selectors, services
from .document_api import version_serializer
from .models import (
    CharterRole,
    CharterVersion,
    DepartmentGoal,
    GovernanceActivity,
    JourneyStage,
    Priority,
    RaciAssignment,
    Touchpoint,
)
from .serializers import (
    CharterContentsSerializer,
    CharterRoleSerializer,
    DecisionSerializer,
    DepartmentGoalSerializer,
    DepartmentSerializer,
    GovernanceMeetingSerializer,
    JourneyStageSerializer,
    PriorityMoveSerializer,
    PriorityReorderSerializer,
    PrioritySerializer,
    RaciCellSerializer,
    RaciRowSerializer,
    TouchpointSerializer,
)
from .views import CHARTER


@extend_schema(
    tags=["CX Charter"],
    summary="The charter's working lists (the open draft); the approved charter is GET /api/v1/charter/",
)
class CharterView(generics.GenericAPIView):
    serializer_class = CharterContentsSerializer
    queryset = CharterVersion.objects.none()  # schema only; contents come from selectors

    def get(self, request: Request) -> Response:
        contents = selectors.charter_contents()
        published = documents.document_published(model=CharterVersion)
        work = documents.document_current_draft(model=CharterVersion)
        changed: list[str] = []
        if work is not None:
            changed = (
                [s.label for s in documents.document_diff(old=published, new=work) if s.changed]
                if published
                else [label for label, _ in work.diff_sections()]
            )
        data = {
            "published": version_serializer(CHARTER)(published).data if published else None,
            "draft": {"number": work.number, "state": work.state} if work else None,
            "unpublished_changes": changed,
            "roles": CharterRoleSerializer(contents.roles, many=True).data,
            "raci": RaciRowSerializer(contents.raci_rows, many=True).data,
            "cadence": GovernanceMeetingSerializer(contents.meetings, many=True).data,
            "priorities": PrioritySerializer(contents.priorities, many=True).data,
            "decisions": DecisionSerializer(contents.decisions, many=True).data,
        }
        return Response(data)


@extend_schema(
    tags=["CX Charter"],
    summary="Set one RACI cell (blank removes it)",
    request=RaciCellSerializer,
    responses={
        200: RaciRowSerializer(many=True),
        404: OpenApiResponse(description="No such activity or role."),
    },
)
class RaciCellView(generics.GenericAPIView):
    serializer_class = RaciCellSerializer
    queryset = RaciAssignment.objects.none()  # schema only; the service does the work

    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        activity = get_object_or_404(GovernanceActivity, pk=serializer.validated_data["activity"])
        role = get_object_or_404(CharterRole, pk=serializer.validated_data["role"])
        services.raci_cell_set(
            activity=activity, role=role, value=serializer.validated_data["value"], by=request.user
        )
        return Response(RaciRowSerializer(selectors.raci_matrix(), many=True).data)


@extend_schema(tags=["CX Charter"])
class PriorityViewSet(viewsets.ModelViewSet):
    """Ranked priorities; new ones go to the bottom. Reorder with ``move`` or ``reorder``."""

    serializer_class = PrioritySerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        return Priority.objects.select_related("department", "success_measure").order_by("rank", "id")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.priority_save(
            priority=Priority(**serializer.validated_data), by=self.request.user
        )

    def perform_update(self, serializer: Any) -> None:
        priority = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(priority, key, value)
        serializer.instance = services.priority_save(priority=priority, by=self.request.user)

    def perform_destroy(self, instance: Priority) -> None:
        services.governance_record_delete(instance=instance, by=self.request.user)

    @extend_schema(request=PriorityMoveSerializer, responses={200: PrioritySerializer(many=True)})
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        data = PriorityMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ordered = services.priority_move(
            priority=self.get_object(), direction=data.validated_data["direction"], by=request.user
        )
        return Response(PrioritySerializer(selectors.priority_list(), many=True).data if ordered else [])

    @extend_schema(request=PriorityReorderSerializer, responses={200: PrioritySerializer(many=True)})
    @action(detail=False, methods=["post"])
    def reorder(self, request: Request) -> Response:
        data = PriorityReorderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.priority_reorder(order=data.validated_data["order"], by=request.user)
        return Response(PrioritySerializer(selectors.priority_list(), many=True).data)


@extend_schema(tags=["Departments"])
class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments in the caller's scope, each with its goals first."""

    serializer_class = DepartmentSerializer
    lookup_field = "slug"

    def get_queryset(self) -> Any:
        return selectors.department_overview_list(user=self.request.user)

    @extend_schema(request=DepartmentGoalSerializer, responses={201: DepartmentGoalSerializer})
    @action(detail=True, methods=["post"], serializer_class=DepartmentGoalSerializer)
    def goals(self, request: Request, slug: str) -> Response:
        department = self.get_object()
        serializer = DepartmentGoalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        goal = services.department_goal_save(
            goal=DepartmentGoal(department=department, **serializer.validated_data), by=request.user
        )
        return Response(DepartmentGoalSerializer(goal).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["Departments"])
class DepartmentGoalViewSet(
    mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """A goal: visible in your department scope; editable by its department's ambassadors and CX leaders."""

    serializer_class = DepartmentGoalSerializer
    queryset = DepartmentGoal.objects.none()  # objects come from get_object (scoped)
    lookup_value_regex = r"\d+"  # a non-numeric id is a 404 from the router, not a 500 in int()

    def get_object(self) -> DepartmentGoal:
        goal = selectors.department_goal_get(user=self.request.user, pk=int(self.kwargs["pk"]))
        if goal is None:
            raise Http404("No such department goal in your scope")
        return goal

    def perform_update(self, serializer: Any) -> None:
        goal = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(goal, key, value)
        serializer.instance = services.department_goal_save(goal=goal, by=self.request.user)

    def perform_destroy(self, instance: DepartmentGoal) -> None:
        services.department_goal_delete(goal=instance, by=self.request.user)


@extend_schema(tags=["Journey"])
class JourneyStageViewSet(viewsets.ModelViewSet):
    serializer_class = JourneyStageSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.journey_stage_list()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.governance_record_save(
            instance=JourneyStage(**serializer.validated_data), by=self.request.user
        )

    def perform_update(self, serializer: Any) -> None:
        for key, value in serializer.validated_data.items():
            setattr(serializer.instance, key, value)
        services.governance_record_save(instance=serializer.instance, by=self.request.user)


@extend_schema(tags=["Journey"])
class TouchpointViewSet(JourneyStageViewSet):
    serializer_class = TouchpointSerializer

    def get_queryset(self) -> Any:
        return Touchpoint.objects.select_related("department", "stage")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.governance_record_save(
            instance=Touchpoint(**serializer.validated_data), by=self.request.user
        )
