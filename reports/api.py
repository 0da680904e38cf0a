"""Machine API of the reports area: metrics per the Public contract, report requests."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from charter.models import Department

from . import metrics, selectors, services
from .serializers import (
    MetricsQuerySerializer,
    MetricsResponseSerializer,
    ReportRequestSerializer,
    ReportSerializer,
)

_ONE_GROUP = "(" + "|".join(metrics.GROUP_BYS) + ")"
GROUP_BY_PATTERN = f"^{_ONE_GROUP}(,{_ONE_GROUP})*$"
SCALES = {"nps": "-100..100", "csat": "0..100 (% satisfied)", "ces": "1..7 (mean effort)"}


class MetricsView(APIView):
    """NPS, CSAT or CES per group, computed in the database, limited to the caller's departments."""

    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, enum=list(metrics.METRICS), required=True),
            OpenApiParameter(
                "group_by",
                str,
                required=True,
                pattern=GROUP_BY_PATTERN,
                description=(
                    f"One of {', '.join(metrics.GROUP_BYS)}; or several, separated by commas, each at "
                    "most once, e.g. `month,department`: one row per combination, counted in one "
                    "pass of the database (each row then also has `groups` and `labels` per dimension)."
                ),
                examples=[
                    OpenApiExample("By month", value="month"),
                    OpenApiExample("Month × department", value="month,department"),
                ],
            ),
            OpenApiParameter("source", str, description="Source slug"),
            OpenApiParameter("program", str, description="Program slug"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="Inclusive (UTC)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Inclusive (UTC)"),
        ],
        responses={200: MetricsResponseSerializer},
        summary="Scores with counts per group",
        description=(
            "NPS = % promoters − % detractors (95 % margin of error from the standard NPS variance); "
            "CSAT = % in the top two boxes (95 % margin, proportion); CES = mean effort normalised to "
            "1–7, **lower is better** (95 % Student-t interval `ci_low`..`ci_high`). Groups with no "
            "answers are absent; `small_sample` is true below 30 answers (pages then show 'n = 2: too "
            "few answers', never the score); month rows carry `partial: true` while the month is not over."
        ),
    )
    def get(self, request: Request) -> ApiResponse:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = selectors.ResponseFilters(
            date_from=data.get("from"),
            date_to=data.get("to"),
            program=data.get("program"),
            source=data.get("source"),
        )
        dimensions = data["group_by"]
        rows = selectors.metric_results(
            department_ids=selectors.scope_ids(user=request.user),
            metric=data["metric"],
            group_by=dimensions[0] if len(dimensions) == 1 else dimensions,
            filters=filters,
        )
        return ApiResponse(
            {
                "metric": data["metric"],
                "group_by": metrics.GROUP_BY_SEPARATOR.join(dimensions),
                "direction": metrics.DIRECTION[data["metric"]],
                "scale": SCALES[data["metric"]],
                "results": rows,
            }
        )


class ReportListView(APIView):
    @extend_schema(
        request=ReportRequestSerializer,
        responses={202: ReportSerializer, 200: ReportSerializer},
        summary="Request an executive PDF report",
        description="202 with the new report's id; 200 with the last report when the same parameters "
        "and unchanged data already produced one. Poll the status URL until `status` is `done`.",
    )
    def post(self, request: Request) -> ApiResponse:
        body = ReportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        ids = None
        if data.get("departments"):
            found = dict(Department.objects.filter(slug__in=data["departments"]).values_list("slug", "id"))
            if len(found) != len(set(data["departments"])):
                return ApiResponse(
                    {"departments": ["Unknown department."]}, status=status.HTTP_400_BAD_REQUEST
                )
            ids = set(found.values())
        report, created = services.report_request(
            user=request.user,
            period_start=data["period_start"],
            period_end=data["period_end"],
            department_ids=ids,
        )
        report.refresh_from_db()
        return ApiResponse(
            ReportSerializer(report, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        responses={200: ReportSerializer(many=True)}, summary="Reports you may download (paginated)"
    )
    def get(self, request: Request) -> ApiResponse:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.report_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(
            ReportSerializer(page, many=True, context={"request": request}).data
        )


class ReportDetailView(APIView):
    @extend_schema(responses={200: ReportSerializer}, summary="A report's status, progress and download URL")
    def get(self, request: Request, pk: int) -> ApiResponse:
        report = selectors.report_get(user=request.user, pk=pk)
        if report is None:
            raise Http404
        return ApiResponse(ReportSerializer(report, context={"request": request}).data)
