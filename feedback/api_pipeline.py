"""``/api/v1/actions/``: action items, scoped like the triage screens.

An ambassador sees their departments' actions, an action owner those departments plus any
action they own, CX leaders and executives everything; anything else is a 404. Queries are
constant whatever the number of rows (joins selected, ids prefetched).
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from charter.selectors import department_ids_for

from .models import ActionInsight, ActionItem, Insight, Loop
from .serializers_pipeline import ActionItemSerializer


def action_item_list(*, user) -> QuerySet[ActionItem]:  # type: ignore[no-untyped-def]
    """Actions ``user`` may see, with what the API shape needs loaded up front."""
    qs = ActionItem.objects.select_related("department", "owner", "theme").prefetch_related(
        Prefetch("inner_links", queryset=ActionInsight.objects.only("id", "action_id", "insight_id")),
        Prefetch("insights", queryset=Insight.objects.only("id", "systemic_action_id")),
    )
    ids = department_ids_for(user=user)
    if ids is not None:
        qs = qs.filter(Q(department_id__in=ids) | Q(owner_id=user.id))
    return qs.order_by("due_at", "id")


class ActionItemFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(method="filter_source", help_text="Source slug.")
    department = django_filters.CharFilter(field_name="department__slug", help_text="Department slug.")
    loop = django_filters.ChoiceFilter(choices=Loop.choices)
    status = django_filters.ChoiceFilter(choices=ActionItem.Status.choices)
    theme = django_filters.CharFilter(field_name="theme__slug", help_text="Theme slug.")
    owner = django_filters.CharFilter(field_name="owner__username", help_text="Owner's username.")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Open and past its due date.")

    class Meta:
        model = ActionItem
        fields = ["source", "department", "loop", "status", "theme", "owner", "overdue"]

    def filter_source(self, qs: QuerySet[ActionItem], name: str, value: str) -> QuerySet[ActionItem]:
        """Inner actions by their response's source; systemic ones by any of their insights'."""
        systemic = Insight.objects.filter(response__source__slug=value, systemic_action__isnull=False)
        return qs.filter(Q(response__source__slug=value) | Q(id__in=systemic.values("systemic_action_id")))

    def filter_overdue(self, qs: QuerySet[ActionItem], name: str, value: bool | None) -> QuerySet[ActionItem]:
        if value is None:
            return qs
        overdue = Q(status__in=ActionItem.OPEN_STATUSES, due_at__lt=timezone.now())
        return qs.filter(overdue) if value else qs.exclude(overdue)


@extend_schema(tags=["actions"])
class ActionItemListApi(generics.ListAPIView):
    """Paginated action items. `department`, `theme` are slugs, `owner` a username."""

    serializer_class = ActionItemSerializer
    filterset_class = ActionItemFilter

    def get_queryset(self) -> QuerySet[ActionItem]:
        return action_item_list(user=self.request.user)


@extend_schema(tags=["actions"])
class ActionItemDetailApi(generics.RetrieveAPIView):
    """One action item; 404 when it is outside your departments."""

    serializer_class = ActionItemSerializer

    def get_queryset(self) -> QuerySet[ActionItem]:
        return action_item_list(user=self.request.user)
