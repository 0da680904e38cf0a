"""Admin for the reports area: the operator's escape hatch."""

from django.contrib import admin

from missions.admin import FinanceValidatedAdmin

from .models import Report, ReportDelivery, ResponseDay, RoiAssumption, ThemeDay


@admin.register(RoiAssumption)
class RoiAssumptionAdmin(FinanceValidatedAdmin):
    list_display = [
        "segment",
        "department",
        "customer_value_per_year",
        "owner",
        "validated_by",
        "validated_at",
    ]
    list_select_related = ["department", "owner", "validated_by"]
    readonly_fields = (*FinanceValidatedAdmin.readonly_fields, "updated_by", "updated_at")


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


class RollupAdmin(admin.ModelAdmin):
    """Read-only: PostgreSQL triggers write the roll-ups (ADR 0010); an edit would make the
    report disagree with the responses."""

    list_filter = ["day"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(ResponseDay)
class ResponseDayAdmin(RollupAdmin):
    list_display = ["day", "department_id", "program_id", "responses", "nps_count", "csat_count", "ces_count"]


@admin.register(ThemeDay)
class ThemeDayAdmin(RollupAdmin):
    list_display = ["day", "department_id", "theme_id", "mentions", "detractors", "scored"]
