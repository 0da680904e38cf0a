"""Admin for the reports area: the operator's escape hatch."""

from django.contrib import admin

from .models import Report, ReportDelivery, RoiAssumption


@admin.register(RoiAssumption)
class RoiAssumptionAdmin(admin.ModelAdmin):
    list_display = [
        "segment",
        "department",
        "customer_value_per_year",
        "owner",
        "validated_by",
        "validated_at",
    ]
    list_select_related = ["department", "owner", "validated_by"]
    readonly_fields = ["validated_by", "validated_at", "updated_by", "updated_at"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "period_start", "period_end", "org_wide", "status", "progress", "created_at"]
    list_filter = ["status", "org_wide"]
    readonly_fields = [
        "fingerprint",
        "department_key",
        "created_at",
        "published_at",
        "started_at",
        "finished_at",
    ]


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(admin.ModelAdmin):
    list_display = ["month", "report", "sent_at"]
