from typing import Any

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import models


@admin.register(models.Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "department", "is_active")
    list_filter = ("kind", "department")
    search_fields = ("name", "slug")


@admin.register(models.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "program", "is_active")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    exclude = ("secret",)


@admin.register(models.Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("external_id", "source", "submitted_at", "nps", "csat", "ces", "status")
    list_filter = ("status", "source")
    search_fields = ("external_id", "comment")
    raw_id_fields = ("customer", "source", "program", "department", "touchpoint", "entered_by")
    list_select_related = ("source",)


@admin.register(models.ActionItem)
class ActionItemAdmin(SimpleHistoryAdmin):
    list_display = ("title", "loop", "status", "department", "owner", "due_at")
    list_filter = ("loop", "status", "department")
    search_fields = ("title",)
    raw_id_fields = ("response", "owner", "theme", "success_measure")
    list_select_related = ("department", "owner")


@admin.register(models.RawDelivery)
class RawDeliveryAdmin(admin.ModelAdmin):
    list_display = ("source", "received_at", "verdict", "status_code")
    list_filter = ("verdict", "status_code")
    raw_id_fields = ("response",)
    readonly_fields = ("body",)


@admin.register(models.Insight)
class InsightAdmin(admin.ModelAdmin):
    list_display = ("response", "department", "owner", "due_at", "priority")
    raw_id_fields = ("response", "owner", "systemic_action", "routing_rule")


for model in (
    models.Customer,
    models.Theme,
    models.OutboxEvent,
    models.ImportJob,
    models.ActionabilityPolicy,
    models.RoutingRule,
    models.SLAPolicy,
    models.OuterLoopSettings,
    models.ActionInsight,
    models.ContactLog,
    models.ActionComment,
    models.Notification,
):
    admin.site.register(model)


@admin.register(models.CustomerChange)
class CustomerChangeAdmin(admin.ModelAdmin):
    """Read-only: the audit of what later vendor data changed on a customer."""

    list_display = ("customer", "source", "by", "at")
    raw_id_fields = ("customer", "source", "by")

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(models.PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    """Read-only: the audit trail of privacy requests is never edited by hand."""

    list_display = ("kind", "customer_ref", "by", "reason", "created_at")
    list_filter = ("kind",)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(models.PipelineConfigStamp)
class PipelineConfigStampAdmin(admin.ModelAdmin):
    """Changing the stamp makes every worker re-read the pipeline's configuration."""

    list_display = ("id", "stamp")


@admin.register(models.EmailSuppression)
class EmailSuppressionAdmin(admin.ModelAdmin):
    """The suppression list: customer addresses never e-mailed (unsubscribed, bounced, added)."""

    list_display = ("email", "reason", "note", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)


@admin.register(models.CustomerMessage)
class CustomerMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "action", "created_by", "created_at")
    raw_id_fields = ("action", "created_by")


@admin.register(models.CustomerDelivery)
class CustomerDeliveryAdmin(admin.ModelAdmin):
    list_display = ("email", "status", "attempts", "sent_at", "message")
    list_filter = ("status",)
    search_fields = ("email",)
    raw_id_fields = ("message", "customer", "inner_action")


@admin.register(models.ActionReopening)
class ActionReopeningAdmin(admin.ModelAdmin):
    list_display = ("action", "by", "at", "previous_status")
    raw_id_fields = ("action", "by")
