from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from . import models


@admin.register(models.MissionVersion, models.SuccessStatementVersion)
class DocumentVersionAdmin(SimpleHistoryAdmin):
    """Read-mostly: the lifecycle (submit, approve) belongs to the app, not to the admin."""

    list_display = ("number", "state", "created_by", "decided_by", "published_at")
    list_filter = ("state",)
    readonly_fields = ("state",)

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        """Only a draft's content is editable; a submitted or published version is what was approved."""
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_draft:
            fields += tuple(obj.CONTENT_FIELDS)
        return fields


@admin.register(models.SuccessMeasure)
class SuccessMeasureAdmin(SimpleHistoryAdmin):
    list_display = ("name", "kind", "baseline_value", "target_value", "validated_by", "validated_at")


admin.site.register(models.MeasureActual, SimpleHistoryAdmin)
admin.site.register(models.MissionMoment, SimpleHistoryAdmin)
