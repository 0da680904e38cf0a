from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    CharterRole,
    CharterVersion,
    Decision,
    Department,
    DepartmentGoal,
    GovernanceActivity,
    GovernanceMeeting,
    InboxItem,
    JourneyStage,
    MaturityAssessment,
    MaturityScore,
    MaturityStatement,
    Priority,
    RaciAssignment,
    Touchpoint,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("cxgov", {"fields": ("title", "notify_by_email", "daily_digest", "slack_webhook_url")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "is_staff")


@admin.register(Department)
class DepartmentAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug", "leader")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members", "ambassadors")
    search_fields = ("name",)


@admin.register(CharterVersion)
class CharterVersionAdmin(SimpleHistoryAdmin):
    """Read-mostly: the lifecycle (submit, approve) belongs to the app, not to the admin."""

    list_display = ("number", "state", "created_by", "decided_by", "published_at")
    list_filter = ("state",)
    readonly_fields = ("state", "snapshot")


@admin.register(Priority)
class PriorityAdmin(SimpleHistoryAdmin):
    list_display = ("rank", "title", "department", "success_measure")


for model in (
    DepartmentGoal,
    JourneyStage,
    Touchpoint,
    CharterRole,
    GovernanceActivity,
    RaciAssignment,
    GovernanceMeeting,
    Decision,
    MaturityStatement,
    MaturityAssessment,
    MaturityScore,
):
    admin.site.register(model, SimpleHistoryAdmin)


@admin.register(InboxItem)
class InboxItemAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "text", "created_at", "read_at", "email_status")
    list_filter = ("kind", "email_status")
    search_fields = ("text", "user__username")
    raw_id_fields = ("user",)
