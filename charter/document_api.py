"""API for versioned governance documents, shared by mission, success statement and charter.

``document_api_urls(kind, prefix)`` gives:
  GET  <prefix>/                          the published version (404 if none yet)
  GET  <prefix>/versions/                 every version, newest first
  POST <prefix>/versions/                 new draft (CX leaders), pre-filled from the latest
  GET  <prefix>/versions/<n>/             one version
  PATCH <prefix>/versions/<n>/            edit a draft (CX leaders; 409 if not a draft)
  POST <prefix>/versions/<n>/submit|approve|return/   lifecycle (409 if not allowed from its state)
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from . import documents
from .document_views import DocumentKind


def _user_field() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="username", read_only=True)


def version_serializer(kind: DocumentKind) -> type[serializers.ModelSerializer]:
    model = kind.model
    meta = type(
        "Meta",
        (),
        {
            "model": model,
            "fields": [
                "number",
                "state",
                *model.CONTENT_FIELDS,
                "change_note",
                "review_comment",
                "created_by",
                "created_at",
                "submitted_by",
                "submitted_at",
                "decided_by",
                "decided_at",
                "published_at",
                "superseded_at",
            ],
            "read_only_fields": [
                "number",
                "state",
                "review_comment",
                "created_at",
                "submitted_at",
                "decided_at",
                "published_at",
                "superseded_at",
            ],
        },
    )
    attrs: dict[str, Any] = {
        "Meta": meta,
        "created_by": _user_field(),
        "submitted_by": _user_field(),
        "decided_by": _user_field(),
        "__module__": __name__,
    }
    if "snapshot" in [f.name for f in model._meta.get_fields()]:
        attrs["snapshot"] = serializers.JSONField(read_only=True)
        meta.fields = [*meta.fields, "snapshot"]
    return type(f"{model.__name__}Serializer", (serializers.ModelSerializer,), attrs)


TransitionInput = inline_serializer(
    "DocumentTransitionInput", fields={"comment": serializers.CharField(required=False, allow_blank=True)}
)


CONFLICT = OpenApiResponse(description="Not allowed from the document's current state (errors by field).")
NONE_YET = OpenApiResponse(description="Nothing has been published yet.")


def _conflict(exc: ValidationError) -> Response:
    return Response(exc.message_dict, status=status.HTTP_409_CONFLICT)


def document_api_urls(kind: DocumentKind, prefix: str) -> list[URLPattern]:
    serializer_class = version_serializer(kind)
    tag = kind.title

    def _get(number: int) -> Any:
        doc = documents.document_versions(model=kind.model).filter(number=number).first()
        if doc is None:
            raise Http404("No such version")
        return doc

    @extend_schema(
        tags=[tag], summary=f"The published {kind.title}", responses={200: serializer_class, 404: NONE_YET}
    )
    class PublishedView(generics.GenericAPIView):
        serializer_class = version_serializer(kind)

        def get(self, request: Request) -> Response:
            doc = documents.document_published(model=kind.model)
            if doc is None:
                raise Http404(f"No {kind.title} has been published yet.")
            return Response(self.get_serializer(doc).data)

    PublishedView.serializer_class = serializer_class
    PublishedView.queryset = kind.model.objects.none()

    @extend_schema(tags=[tag])
    @extend_schema_view(post=extend_schema(responses={201: serializer_class, 409: CONFLICT}))
    class VersionListView(generics.ListCreateAPIView):
        def get_queryset(self) -> Any:
            return documents.document_versions(model=kind.model)

        def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            serializer = self.get_serializer(data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            try:
                if kind.create is not None:
                    doc = kind.create(by=request.user, fields=dict(serializer.validated_data))
                else:
                    doc = documents.document_draft_create(
                        model=kind.model, by=request.user, fields=dict(serializer.validated_data)
                    )
            except documents.TransitionError as exc:
                return _conflict(exc)
            return Response(self.get_serializer(doc).data, status=status.HTTP_201_CREATED)

    VersionListView.serializer_class = serializer_class

    @extend_schema(tags=[tag])
    @extend_schema_view(patch=extend_schema(responses={200: serializer_class, 409: CONFLICT}))
    class VersionDetailView(generics.RetrieveUpdateAPIView):
        http_method_names = ["get", "patch", "head", "options"]

        def get_object(self) -> Any:
            return _get(self.kwargs["number"])

        def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            doc = self.get_object()
            serializer = self.get_serializer(doc, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            try:
                doc = documents.document_draft_update(
                    doc=doc, by=request.user, fields=dict(serializer.validated_data)
                )
            except documents.TransitionError as exc:
                return _conflict(exc)
            return Response(self.get_serializer(doc).data)

    VersionDetailView.serializer_class = serializer_class

    def transition_view(action: str) -> Any:
        @extend_schema(tags=[tag], request=TransitionInput, responses={200: serializer_class, 409: CONFLICT})
        class TransitionView(generics.GenericAPIView):
            def post(self, request: Request, number: int) -> Response:
                doc = _get(number)
                try:
                    doc = documents.document_transition(
                        doc=doc,
                        by=request.user,
                        action=action,
                        comment=str(request.data.get("comment", "")),
                        prepare=kind.submit_prepare,
                    )
                except documents.TransitionError as exc:
                    return _conflict(exc)
                return Response(serializer_class(doc).data)

        TransitionView.serializer_class = serializer_class
        TransitionView.queryset = kind.model.objects.none()
        TransitionView.__name__ = f"{kind.model.__name__}{action.capitalize()}View"
        return TransitionView.as_view()

    name = f"api-{kind.slug}"
    return [
        path(f"{prefix}/", PublishedView.as_view(), name=f"{name}-published"),
        path(f"{prefix}/versions/", VersionListView.as_view(), name=f"{name}-versions"),
        path(f"{prefix}/versions/<int:number>/", VersionDetailView.as_view(), name=f"{name}-version"),
        *[
            path(
                f"{prefix}/versions/<int:number>/{action}/", transition_view(action), name=f"{name}-{action}"
            )
            for action in ("submit", "approve", "return")
        ],
    ]
