"""Shapes of the pipeline API (serializers validate and shape; they never save)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import ActionItem


class ActionItemSerializer(serializers.ModelSerializer):
    """An action item as integrators see it (Public contract: keep stable)."""

    department = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The owning department's slug."
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="The owner's username (exactly one owner)."
    )
    theme = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="The theme's slug (systemic actions)."
    )
    insights = serializers.SerializerMethodField(help_text="Ids of the insights this action follows up.")
    response = serializers.SerializerMethodField(
        help_text="Id of the customer's response (inner loop only, else null)."
    )

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "loop",
            "status",
            "department",
            "owner",
            "due_at",
            "insights",
            "response",
            "theme",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_insights(self, obj: ActionItem) -> list[int]:
        if obj.loop == "inner":
            return sorted(link.insight_id for link in obj.inner_links.all())
        return sorted(insight.id for insight in obj.insights.all())

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_response(self, obj: ActionItem) -> int | None:
        return obj.response_id if obj.loop == "inner" else None
