from typing import Any

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


class FinanceValidatedAdmin(SimpleHistoryAdmin):
    """An operator's edit obeys the app's rule: a change to a validated figure's meaning (its
    ``MEANING_FIELDS``, many-to-many included) clears finance's validation; validation itself
    is given in the finance queue, not here."""

    readonly_fields: tuple[str, ...] = models.FinanceValidated.VALIDATION_STATE_FIELDS

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        stored = type(obj).objects.filter(pk=obj.pk).first() if change else None
        request._cxgov_meaning_before = stored.meaning() if stored is not None else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj, before = form.instance, getattr(request, "_cxgov_meaning_before", None)
        if before is not None and obj.is_validated and obj.meaning() != before:
            obj.validation_clear()
            obj.save(update_fields=list(models.FinanceValidated.VALIDATION_STATE_FIELDS))


@admin.register(models.SuccessMeasure)
class SuccessMeasureAdmin(FinanceValidatedAdmin):
    list_display = ("name", "kind", "baseline_value", "target_value", "validated_by", "validated_at")


admin.site.register(models.MeasureActual, SimpleHistoryAdmin)
admin.site.register(models.MissionMoment, SimpleHistoryAdmin)
