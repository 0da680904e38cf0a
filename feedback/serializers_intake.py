"""Serializers of the intake API: they validate and shape, never save (services do)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .models import Response, Source


class SourceCreateSerializer(serializers.Serializer):
    """Input of ``POST /api/v1/sources/`` (the same as ``manage.py create_source``)."""

    kind = serializers.ChoiceField(choices=Source.Kind.choices)
    name = serializers.CharField(max_length=160)
    program = serializers.SlugField(
        required=False, allow_blank=True, help_text="Program slug; default if absent."
    )
    secret = serializers.CharField(required=False, allow_blank=True, max_length=255, trim_whitespace=False)
    field_map = serializers.JSONField(required=False, help_text='role -> vendor key, e.g. {"nps": "q1"}')
    map = serializers.ListField(
        child=serializers.CharField(), required=False, help_text='["ROLE=KEY", ...] like the command'
    )
    scales = serializers.JSONField(required=False)
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)
    api_credentials = serializers.JSONField(required=False)
    rate_limit_per_minute = serializers.IntegerField(required=False, min_value=1, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        field_map = (
            dict(attrs.get("field_map") or {})
            if isinstance(attrs.get("field_map"), dict)
            else attrs.get("field_map")
        )
        for pair in attrs.pop("map", []) or []:
            role, sep, key = pair.partition("=")
            if not sep or not role.strip() or not key.strip():
                raise serializers.ValidationError({"map": [f"{pair!r}: use ROLE=KEY."]})
            if isinstance(field_map, dict):
                field_map[role.strip()] = key.strip()
        attrs["field_map"] = field_map or {}
        return attrs


class SourceRotateSerializer(serializers.Serializer):
    secret = serializers.CharField(required=False, allow_blank=True, max_length=255, trim_whitespace=False)


class SourceSerializer(serializers.ModelSerializer):
    """A source as listed: never its token or secret."""

    program = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    intake_url = serializers.SerializerMethodField()
    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = [
            "id",
            "slug",
            "name",
            "kind",
            "program",
            "field_map",
            "scales",
            "timezone",
            "is_active",
            "token_prefix",
            "has_secret",
            "intake_url",
            "created_at",
            "rotated_at",
        ]
        read_only_fields = fields

    def get_intake_url(self, obj: Source) -> str:
        from django.urls import reverse

        path = reverse("intake", kwargs={"slug": obj.slug})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_has_secret(self, obj: Source) -> bool:
        return bool(obj.secret)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class ResponseSerializer(serializers.ModelSerializer):
    """A response as the public contract lists it."""

    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    program = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    customer = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    bands = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = [
            "id",
            "source",
            "program",
            "external_id",
            "submitted_at",
            "customer",
            "scores",
            "bands",
            "comment",
            "answers",
            "status",
            "department",
            "touchpoint_label",
        ]
        read_only_fields = fields

    def get_customer(self, obj: Response) -> dict[str, Any] | None:
        customer = obj.customer
        if customer is None or customer.erased_at is not None:
            return None
        return {
            "id": customer.id,
            "external_id": customer.external_id,
            "email": customer.email,
            "name": customer.name,
        }

    def get_scores(self, obj: Response) -> dict[str, int]:
        return obj.scores

    def get_bands(self, obj: Response) -> dict[str, str]:
        return {m: getattr(obj, f"{m}_band") for m in ("nps", "csat", "ces") if getattr(obj, f"{m}_band")}

    def get_answers(self, obj: Response) -> dict[str, Any]:
        return {k: v for k, v in (obj.answers or {}).items() if k != "_fetch"}
