from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from charter.models import Department
from charter.selectors import department_scope

from .measure_status import MeasureStatus, measure_status
from .models import MeasureActual, MissionMoment, SuccessMeasure


class MeasureActualSerializer(serializers.ModelSerializer):
    entered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MeasureActual
        fields = ["id", "date", "value", "origin", "note", "entered_by"]
        read_only_fields = ["origin"]


class ActualCorrectionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=100, help_text="Why: kept in the audit trail with old → new.")
    value = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    date = serializers.DateField(required=False)


class LatestSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    period = serializers.CharField(help_text="YYYY-MM for a computed month, YYYY-MM-DD for an entered value.")
    count = serializers.IntegerField(allow_null=True, help_text="Answers behind a computed value.")
    source = serializers.ChoiceField(choices=["entered", "computed"])


def _status(obj: SuccessMeasure) -> MeasureStatus:
    status = getattr(obj, "status", None)
    if status is None:
        status = obj.status = measure_status(obj)
    return status


class SuccessMeasureSerializer(serializers.ModelSerializer):
    """``latest``: the last actual of a complete period with enough answers, or null with
    ``latest_reason``; ``progress``: share of the way baseline → target (0..1), or null with
    ``progress_reason`` (e.g. "4.2 points further from target than the baseline")."""

    actuals = MeasureActualSerializer(many=True, read_only=True)
    latest = serializers.SerializerMethodField()
    latest_reason = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    progress_reason = serializers.SerializerMethodField()
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
            "returned_at", "return_question", "position", "min_answers", "actuals", "latest",
            "latest_reason", "progress", "progress_reason",
        ]  # fmt: skip
        read_only_fields = [
            "validated_at", "validation_note", "validation_evidence_url", "returned_at", "return_question",
            "position",
        ]  # fmt: skip

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The model's rules (value possible for the unit, target date after baseline) as field
        errors, before the service saves."""
        probe = SuccessMeasure(**{k: v for k, v in attrs.items() if k != "scope_departments"})
        if self.instance is not None:
            for field in SuccessMeasure._meta.concrete_fields:
                if field.name not in attrs and not field.primary_key:
                    setattr(probe, field.attname, getattr(self.instance, field.attname))
        try:
            probe.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    @extend_schema_field(LatestSerializer(allow_null=True))
    def get_latest(self, obj: SuccessMeasure) -> dict[str, Any] | None:
        latest = _status(obj).latest
        if latest is None:
            return None
        return {
            "value": str(latest.value),
            "period": latest.period,
            "count": latest.count,
            "source": latest.source,
        }

    def get_latest_reason(self, obj: SuccessMeasure) -> str | None:
        return _status(obj).latest_reason

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_progress(self, obj: SuccessMeasure) -> float | None:
        share = _status(obj).progress.share
        return None if share is None else round(share, 4)

    def get_progress_reason(self, obj: SuccessMeasure) -> str | None:
        return _status(obj).progress.reason


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

    def get_fields(self) -> dict[str, Any]:
        """A department the requester may not see reads as unknown (same error as a typo)."""
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            fields["department"].queryset = department_scope(
                Department.objects.all(), user=request.user, field="id"
            )
        return fields


class MomentFeatureSerializer(serializers.Serializer):
    featured = serializers.BooleanField()
