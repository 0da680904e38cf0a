"""Serializers of the reports API: they validate and shape, they never save."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from .metrics import GROUP_BYS, METRICS, group_by_parse
from .models import Report


class MetricsQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=METRICS)
    group_by = serializers.CharField(
        max_length=80,
        help_text=f"One of {', '.join(GROUP_BYS)}, or several separated by commas (month,department).",
    )
    source = serializers.SlugField(required=False)
    program = serializers.SlugField(required=False)
    # "from" is a Python keyword: declared below under its public name.
    to = serializers.DateField(required=False, help_text="Inclusive, YYYY-MM-DD (UTC).")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False, help_text="Inclusive, YYYY-MM-DD (UTC).")
        return fields

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        try:
            return group_by_parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"to": "Must be on or after 'from'."})
        return attrs


class MetricRowSerializer(serializers.Serializer):
    group = serializers.CharField(
        help_text="YYYY-MM for month, else the slug of the department/program/source/touchpoint."
    )
    label = serializers.CharField(help_text="With several dimensions: their labels joined by ' · '.")
    groups = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="Several dimensions only: each dimension's group, e.g. {'month': '2026-10', "
        "'department': 'support'} (`group` is them joined by commas, in the order asked).",
    )
    labels = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Several dimensions only: each one's label."
    )
    score = serializers.FloatField(allow_null=True, help_text="null when nobody answered.")
    count = serializers.IntegerField()
    promoters = serializers.IntegerField(required=False, help_text="NPS only.")
    passives = serializers.IntegerField(required=False, help_text="NPS only.")
    detractors = serializers.IntegerField(required=False, help_text="NPS only.")
    margin_of_error = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="NPS (standard NPS variance) and CSAT (proportion): half-width of the 95 % interval, "
        "in points.",
    )
    satisfied = serializers.IntegerField(required=False, help_text="CSAT only: answers in the top two boxes.")
    sd = serializers.FloatField(
        required=False, allow_null=True, help_text="CES only: sample standard deviation."
    )
    ci_low = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="CES only: 95 % confidence interval of the mean (Student t).",
    )
    ci_high = serializers.FloatField(required=False, allow_null=True, help_text="CES only.")
    small_sample = serializers.BooleanField(
        help_text="Fewer than 30 answers: pages show 'n = 2: too few answers' instead of the score."
    )
    partial = serializers.BooleanField(
        required=False, help_text="Time groups only: true while the period (month) is not over yet."
    )


class MetricsResponseSerializer(serializers.Serializer):
    metric = serializers.CharField()
    group_by = serializers.CharField()
    direction = serializers.CharField(help_text="'higher is better', or for CES 'lower effort is better'.")
    scale = serializers.CharField()
    results = MetricRowSerializer(many=True)


class ReportRequestSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    departments = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        allow_empty=True,
        help_text="Department slugs; empty = whole organisation (executives, CX leaders) or yours.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period_start"] > attrs["period_end"]:
            raise serializers.ValidationError({"period_end": "Must be on or after period_start."})
        return attrs


class ReportSerializer(serializers.ModelSerializer):
    departments = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "status",
            "progress",
            "step",
            "period_start",
            "period_end",
            "org_wide",
            "departments",
            "created_at",
            "finished_at",
            "error",
            "download_url",
            "status_url",
        ]

    def get_departments(self, obj: Report) -> list[str]:
        return sorted(d.slug for d in obj.departments.all())

    def get_download_url(self, obj: Report) -> str | None:
        from django.urls import reverse

        if obj.status != Report.Status.DONE:
            return None
        url = reverse("reports:report-download", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    def get_status_url(self, obj: Report) -> str:
        from django.urls import reverse

        url = reverse("reports-api:report-detail", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url
