"""Shapes of charter objects in the API. Serializers validate and shape; services save."""

from __future__ import annotations

from rest_framework import serializers

from .models import (
    CharterRole,
    Decision,
    Department,
    DepartmentGoal,
    GovernanceMeeting,
    JourneyStage,
    Priority,
    Touchpoint,
)


class CharterRoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CharterRole
        fields = ["id", "key", "name", "responsibilities", "accountabilities", "position"]


class GovernanceMeetingSerializer(serializers.ModelSerializer):
    class Meta:
        model = GovernanceMeeting
        fields = ["id", "name", "frequency", "attendees", "purpose", "position"]


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = ["id", "title", "decided_on", "rationale", "priority", "recorded_by", "created_at"]
        read_only_fields = ["recorded_by", "created_at"]

    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)


class PrioritySerializer(serializers.ModelSerializer):
    department_name = serializers.CharField(source="department.name", read_only=True)
    success_measure_name = serializers.CharField(source="success_measure.name", read_only=True)

    class Meta:
        model = Priority
        fields = [
            "id", "rank", "title", "description", "department", "department_name",
            "success_measure", "success_measure_name",
        ]  # fmt: skip
        read_only_fields = ["rank"]


class PriorityReorderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)


class PriorityMoveSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down", "top", "bottom"])


class RaciRowSerializer(serializers.Serializer):
    activity_id = serializers.IntegerField(source="activity.pk")
    activity = serializers.CharField(source="activity.name")
    cells = serializers.SerializerMethodField()

    def get_cells(self, row: object) -> dict[str, str]:
        return {role.key: value for role, value in row.cells}  # type: ignore[attr-defined]


class RaciCellSerializer(serializers.Serializer):
    activity = serializers.IntegerField()
    role = serializers.IntegerField()
    value = serializers.ChoiceField(choices=["", "R", "A", "C", "I"], allow_blank=True)


class CharterContentsSerializer(serializers.Serializer):
    published = serializers.JSONField(allow_null=True)
    draft = serializers.JSONField(
        allow_null=True, help_text="The open version these lists belong to, if any."
    )
    unpublished_changes = serializers.ListField(child=serializers.CharField())
    roles = CharterRoleSerializer(many=True)
    raci = RaciRowSerializer(many=True, source="raci_rows")
    cadence = GovernanceMeetingSerializer(many=True, source="meetings")
    priorities = PrioritySerializer(many=True)
    decisions = DecisionSerializer(many=True)


class DepartmentGoalSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = DepartmentGoal
        fields = [
            "id", "department", "title", "metric", "current_value", "target_value", "unit",
            "target_date", "position",
        ]  # fmt: skip


class DepartmentSerializer(serializers.ModelSerializer):
    goals = DepartmentGoalSerializer(many=True, read_only=True)
    ambassadors = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    leader = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "slug", "name", "description", "leader", "ambassadors", "goals"]


class TouchpointSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", queryset=Department.objects.all())

    class Meta:
        model = Touchpoint
        fields = ["id", "stage", "name", "slug", "department", "description", "position"]


class JourneyStageSerializer(serializers.ModelSerializer):
    touchpoints = TouchpointSerializer(many=True, read_only=True)

    class Meta:
        model = JourneyStage
        fields = ["id", "name", "description", "position", "touchpoints"]
