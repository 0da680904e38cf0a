from __future__ import annotations

from rest_framework import serializers

from charter.models import Department

from .models import MeasureActual, MissionMoment, SuccessMeasure


class MeasureActualSerializer(serializers.ModelSerializer):
    entered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MeasureActual
        fields = ["id", "date", "value", "origin", "note", "entered_by"]
        read_only_fields = ["origin"]


class SuccessMeasureSerializer(serializers.ModelSerializer):
    actuals = MeasureActualSerializer(many=True, read_only=True)
    validated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_validated = serializers.BooleanField(read_only=True)
    scope_departments = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Department.objects.all(), required=False
    )

    class Meta:
        model = SuccessMeasure
        fields = [
            "id", "name", "kind", "unit", "direction", "baseline_value", "baseline_date", "target_value",
            "target_date", "owner_department", "department_goal", "scope_departments", "money_assumptions",
            "is_validated", "validated_by", "validated_at", "validation_note", "validation_evidence_url",
            "returned_at", "return_question", "position", "actuals",
        ]  # fmt: skip
        read_only_fields = [
            "validated_at", "validation_note", "validation_evidence_url", "returned_at", "return_question",
            "position",
        ]  # fmt: skip


class MeasureValidateSerializer(serializers.Serializer):
    """Finance's validation: what they checked (into the audit trail), and optional evidence."""

    note = serializers.CharField(max_length=2000)
    evidence_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class MissionMomentSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_featured = serializers.BooleanField(read_only=True)

    class Meta:
        model = MissionMoment
        fields = [
            "id", "kind", "title", "story", "department", "touchpoint", "submitted_by", "created_at",
            "is_featured", "featured_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "featured_at"]


class MomentFeatureSerializer(serializers.Serializer):
    featured = serializers.BooleanField()
