from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Department, DepartmentGoal, JourneyStage, Touchpoint, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("cxgov", {"fields": ("title", "notify_by_email", "daily_digest", "slack_webhook_url")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "is_staff")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "leader")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members", "ambassadors")
    search_fields = ("name",)


admin.site.register(DepartmentGoal)
admin.site.register(JourneyStage)
admin.site.register(Touchpoint)
