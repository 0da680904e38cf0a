"""Missions API: success measures with actuals and validation, Mission Moments.
Mission and success-statement versions come from ``charter.document_api``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors, services
from .models import MeasureActual, MissionMoment, SuccessMeasure
from .serializers import (
    ActualCorrectionSerializer,
    MeasureActualSerializer,
    MeasureValidateSerializer,
    MissionMomentSerializer,
    MomentFeatureSerializer,
    SuccessMeasureSerializer,
)


@extend_schema(tags=["CX Success Statement"])
class SuccessMeasureViewSet(viewsets.ModelViewSet):
    """Success measures. Changing a validated figure clears finance's validation; the reply's
    ``validation_cleared`` says so."""

    serializer_class = SuccessMeasureSerializer

    def get_queryset(self) -> Any:
        return selectors.success_measure_list()

    def _save(self, measure: SuccessMeasure, data: dict[str, Any]) -> services.MeasureSaveResult:
        scope = data.pop("scope_departments", None)
        for key, value in data.items():
            setattr(measure, key, value)
        return services.success_measure_save(measure=measure, by=self.request.user, scope_departments=scope)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = self._save(SuccessMeasure(), dict(serializer.validated_data))
        measure = selectors.success_measure_get(pk=result.measure.pk)
        return Response(self.get_serializer(measure).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        measure = self.get_object()
        serializer = self.get_serializer(measure, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        result = self._save(measure, dict(serializer.validated_data))
        data = dict(self.get_serializer(selectors.success_measure_get(pk=result.measure.pk)).data)
        data["validation_cleared"] = result.validation_cleared
        return Response(data)

    def perform_destroy(self, instance: SuccessMeasure) -> None:
        services.success_measure_delete(measure=instance, by=self.request.user)

    @extend_schema(request=MeasureValidateSerializer, responses={200: SuccessMeasureSerializer})
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: str) -> Response:
        if not services.validation_can_give(request.user):  # before the body: 403, not 400
            raise PermissionDenied("Only a finance partner validates a measure's figures.")
        body = MeasureValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        measure = services.success_measure_validate(
            measure=self.get_object(),
            by=request.user,
            note=body.validated_data["note"],
            evidence_url=body.validated_data["evidence_url"],
        )
        return Response(self.get_serializer(selectors.success_measure_get(pk=measure.pk)).data)

    @extend_schema(request=MeasureActualSerializer, responses={200: MeasureActualSerializer(many=True)})
    @action(detail=True, methods=["get", "post"], serializer_class=MeasureActualSerializer)
    def actuals(self, request: Request, pk: str) -> Response:
        measure = self.get_object()
        if request.method == "POST":
            serializer = MeasureActualSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            actual = services.measure_actual_enter(
                measure=measure,
                on=serializer.validated_data["date"],
                value=serializer.validated_data["value"],
                note=serializer.validated_data.get("note", ""),
                by=request.user,
            )
            return Response(MeasureActualSerializer(actual).data, status=status.HTTP_201_CREATED)
        return Response(MeasureActualSerializer(measure.actuals.all(), many=True).data)

    @extend_schema(
        request=ActualCorrectionSerializer,
        responses={200: MeasureActualSerializer, 204: None},
        summary="Correct (PATCH) or delete (DELETE) an entered actual, with a reason",
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"actuals/(?P<actual_pk>[0-9]+)",
        serializer_class=ActualCorrectionSerializer,
    )
    def actual_detail(self, request: Request, pk: str, actual_pk: str) -> Response:
        measure = self.get_object()
        actual = get_object_or_404(MeasureActual, pk=actual_pk, measure=measure)
        body = ActualCorrectionSerializer(data=request.data or request.query_params)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if request.method == "DELETE":
            services.measure_actual_delete(actual=actual, by=request.user, reason=data["reason"])
            return Response(status=status.HTTP_204_NO_CONTENT)
        actual = services.measure_actual_correct(
            actual=actual,
            by=request.user,
            reason=data["reason"],
            value=data.get("value"),
            on=data.get("date"),
        )
        return Response(MeasureActualSerializer(actual).data)


@extend_schema(tags=["Mission Moments"])
class MissionMomentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Anyone logged in shares a moment; CX leaders feature some (``?featured=true`` lists them)."""

    serializer_class = MissionMomentSerializer

    def get_queryset(self) -> Any:
        featured = {"true": True, "false": False}.get(self.request.query_params.get("featured", ""))
        return selectors.moment_list(featured=featured)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.moment_submit(
            moment=MissionMoment(**serializer.validated_data), by=self.request.user
        )

    @extend_schema(request=MomentFeatureSerializer, responses={200: MissionMomentSerializer})
    @action(detail=True, methods=["post"])
    def feature(self, request: Request, pk: str) -> Response:
        data = MomentFeatureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        moment = services.moment_feature(
            moment=self.get_object(), featured=data.validated_data["featured"], by=request.user
        )
        return Response(MissionMomentSerializer(moment).data)
