"""Intake API: the webhook URL sources post to, sources, CSV imports and the response list.

The intake URL is a plain Django view on purpose: it must see the raw body bytes (vendor
signatures are computed over them), refuse a body over 1 MB before parsing, and never let DRF
content negotiation or CSRF get between a vendor and its reply.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from cxgov.clientip import client_address

from . import selectors
from .imports import import_job_create, import_summary
from .intake import MAX_BODY_BYTES, delivery_receive, source_create, source_for_intake, source_rotate
from .models import Program
from .serializers_intake import (
    ImportUploadSerializer,
    ResponseSerializer,
    SourceCreateSerializer,
    SourceRotateSerializer,
    SourceSerializer,
)
from .sources import PayloadError


@csrf_exempt
def intake_view(request: HttpRequest, slug: str) -> JsonResponse:
    """``POST /api/v1/intake/<slug>/``: authenticate, parse, store, reply (see DESIGN.md)."""
    if request.method not in ("POST", "HEAD"):
        reply = JsonResponse({"errors": {"non_field_errors": ["Use POST."]}}, status=405)
        reply["Allow"] = "POST, HEAD"
        return reply
    if request.method == "HEAD":
        # SurveyMonkey checks the URL answers before subscribing. The same 200 for every slug,
        # without a lookup: a HEAD must not tell a stranger which slugs exist.
        return JsonResponse({}, status=200)
    source = source_for_intake(slug=slug)
    if source is None:
        return JsonResponse({"errors": {"non_field_errors": ["No such source."]}}, status=404)
    too_large = False
    body = b""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        too_large = True
    else:
        try:
            body = request.body
        except RequestDataTooBig:
            too_large = True
        if len(body) > MAX_BODY_BYTES:
            too_large, body = True, b""
    result = delivery_receive(
        source=source,
        body=body,
        headers=dict(request.headers),
        content_type=request.META.get("CONTENT_TYPE", ""),
        too_large=too_large,
        client=client_address(request),
    )
    reply = JsonResponse(result.body, status=result.status_code)
    for name, value in result.headers.items():
        reply[name] = value
    return reply


class CanManagePrograms(permissions.BasePermission):
    """CX leaders and staff set up sources; everyone signed in may read what is in scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return selectors.can_manage_programs(request.user)


def _validation_error(exc: ValidationError) -> ApiResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return ApiResponse(detail, status=status.HTTP_400_BAD_REQUEST)


class SourceListCreateApi(generics.ListAPIView):
    """List sources (no tokens, no secrets) or create one (token and secret shown once)."""

    permission_classes = [CanManagePrograms]
    serializer_class = SourceSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.source_list(user=self.request.user)

    @extend_schema(request=SourceCreateSerializer, responses={201: dict})
    def post(self, request: Request) -> ApiResponse:
        serializer = SourceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        program = None
        if data.get("program"):
            program = Program.objects.filter(slug=data["program"]).first()
            if program is None:
                return ApiResponse({"program": [f"No program {data['program']!r}."]}, status=400)
        try:
            created = source_create(
                kind=data["kind"],
                name=data["name"],
                program=program,
                secret=data.get("secret", ""),
                field_map=data.get("field_map") or {},
                scales=data.get("scales") or {},
                tz=data.get("timezone") or "UTC",
                api_credentials=data.get("api_credentials") or {},
                rate_limit_per_minute=data.get("rate_limit_per_minute"),
            )
        except ValidationError as exc:
            return _validation_error(exc)
        payload = created.payload(base_url=request.build_absolute_uri("/"))
        payload.update(
            {
                "id": created.source.id,
                "name": created.source.name,
                "kind": created.source.kind,
                "program": created.source.program.slug,
            }
        )
        return ApiResponse(payload, status=status.HTTP_201_CREATED)


class SourceRotateApi(APIView):
    """A new token (and optionally a new secret); the old token stops working at once."""

    permission_classes = [CanManagePrograms]

    @extend_schema(request=SourceRotateSerializer, responses={200: dict})
    def post(self, request: Request, slug: str) -> ApiResponse:
        source = selectors.source_get(user=request.user, slug=slug)
        if source is None:
            raise NotFound()
        serializer = SourceRotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rotated = source_rotate(source=source, secret=serializer.validated_data.get("secret"))
        return ApiResponse(rotated.payload(base_url=request.build_absolute_uri("/")))


class ImportCreateApi(APIView):
    """``POST /api/v1/sources/<slug>/imports/`` (multipart ``file``) -> 201 with the job id."""

    permission_classes = [CanManagePrograms]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ImportUploadSerializer, responses={201: dict})
    def post(self, request: Request, slug: str) -> ApiResponse:
        source = selectors.source_get(user=request.user, slug=slug)
        if source is None:
            raise NotFound()
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        try:
            job = import_job_create(source=source, fileobj=upload, name=upload.name, by=request.user)
        except PayloadError as exc:
            return ApiResponse(exc.errors, status=400)
        job.refresh_from_db()
        body = import_summary(job)
        body["url"] = request.build_absolute_uri(f"/api/v1/imports/{job.id}/")
        return ApiResponse(body, status=status.HTTP_201_CREATED)


class ImportDetailApi(APIView):
    """``GET /api/v1/imports/<id>/`` -> status, total_rows, created, duplicates, errors."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, pk: int) -> ApiResponse:
        job = selectors.import_job_get(user=request.user, job_id=pk)
        if job is None:
            raise NotFound()
        return ApiResponse(import_summary(job))


@extend_schema(
    parameters=[
        OpenApiParameter(name, str, required=False)
        for name in ("program", "source", "band", "from", "to", "department", "status", "q")
    ]
)
class ResponseListApi(generics.ListAPIView):
    """Responses in the user's departments, newest first, filtered."""

    serializer_class = ResponseSerializer
    filter_backends: list = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        params = self.request.query_params
        with_nul = {
            key: ["Null characters are not allowed."] for key, value in params.items() if "\x00" in value
        }
        if with_nul:  # PostgreSQL cannot compare text with NUL: refuse clearly instead of a 500
            raise DRFValidationError(with_nul)
        return selectors.response_list(
            user=self.request.user,
            program=params.get("program"),
            source=params.get("source"),
            band=params.get("band"),
            date_from=params.get("from"),
            date_to=params.get("to"),
            department=params.get("department"),
            status=params.get("status"),
            q=params.get("q"),
        )
