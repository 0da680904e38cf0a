"""The CX leader's pipeline settings and the staff pipeline-health page (thin, htmx-aware).

Access (documented for reviewers):
- ``/settings/routing/`` and its forms: CX leaders and superusers. Anyone else logged in gets
  403: the settings screen is no secret, and 403 tells them plainly they lack the role.
  Anonymous visitors are sent to the login page.
- ``/settings/pipeline/``: staff (``is_staff``), superusers and CX leaders; others 403.
- Every form works as a plain POST (redirect after success; the page again with field errors
  and status 400 on failure). With htmx the same URL swaps the named partial instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from charter.roles import Role

from .models import (
    ActionabilityPolicy,
    Loop,
    Notification,
    OutboxEvent,
    OuterLoopSettings,
    Priority,
    Response,
    RoutingRule,
    SLAPolicy,
    Theme,
)
from .routing import (
    active_rules,
    routing_rule_move,
    routing_rule_save,
    rule_preview,
    settings_object_save,
)
from .sla import DEFAULT_POLICIES

PREVIEW_LIMIT = 500
WEEKDAYS = [("0", "Mon"), ("1", "Tue"), ("2", "Wed"), ("3", "Thu"), ("4", "Fri"), ("5", "Sat"), ("6", "Sun")]


def _require_leader(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_superuser or user.is_cx_leader):  # type: ignore[union-attr]
        raise PermissionDenied("Only CX leaders edit routing, themes and SLAs.")


def _require_staff(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_staff or user.is_superuser or user.is_cx_leader):  # type: ignore[union-attr]
        raise PermissionDenied("Pipeline health is for staff and CX leaders.")


def _apply_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- forms ----------------------------------------------------------------------------------------


class ThemeForm(forms.ModelForm):
    slug = forms.SlugField(required=False, help_text="Left blank, made from the name.")

    class Meta:
        model = Theme
        fields = ["name", "slug", "keywords", "department", "is_active"]
        widgets = {"keywords": forms.Textarea(attrs={"rows": 4})}

    def clean_slug(self) -> str:
        return self.cleaned_data.get("slug") or slugify(self.data.get("name", ""))[:120]


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "is_active",
            "is_default",
            "program",
            "source",
            "touchpoint",
            "theme",
            "score_band",
            "sentiment",
            "department_hint",
            "customer_attribute",
            "customer_attribute_value",
            "department",
            "owner_mode",
            "owner",
            "priority",
            "loops",
        ]
        help_texts = {
            "is_default": "Catches every response no other rule matched (one default rule).",
            "owner": "Only for “A named person”.",
            "customer_attribute": "A key of the customer's attributes, e.g. tier.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")

    def validate_constraints(self) -> None:
        """The one-default constraint is the service's job: saving a new default moves the flag."""
        exclude = self._get_validation_exclusions()
        exclude.add("is_default")
        try:
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as exc:
            self._update_errors(exc)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("owner_mode") == RoutingRule.OwnerMode.USER and not data.get("owner"):
            self.add_error("owner", "Choose the person, or another owner mode.")
        if data.get("customer_attribute_value") and not data.get("customer_attribute"):
            self.add_error("customer_attribute", "Name the attribute the value belongs to.")
        return data


class SLAPolicyForm(forms.ModelForm):
    working_days = forms.MultipleChoiceField(
        choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple, help_text="Days the team works."
    )

    class Meta:
        model = SLAPolicy
        fields = ["first_contact_hours", "resolve_days", "working_days", "day_start_hour", "day_end_hour"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance and not self.is_bound:
            self.initial["working_days"] = [d for d in self.instance.working_days.split(",") if d]

    def clean_working_days(self) -> str:
        return ",".join(sorted(self.cleaned_data["working_days"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("day_start_hour"), data.get("day_end_hour")
        if start is not None and end is not None and not 0 <= start < end <= 24:
            self.add_error("day_end_hour", "The working day must end after it starts (hours 0–24).")
        return data


class ActionabilityPolicyForm(forms.ModelForm):
    class Meta:
        model = ActionabilityPolicy
        fields = ["nps_max", "csat_max", "ces_min", "sentiment_max"]
        labels = {
            "nps_max": "NPS at or below",
            "csat_max": "CSAT at or below",
            "ces_min": "CES at or above",
            "sentiment_max": "Comment sentiment at or below",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        checks = [("nps_max", 0, 10), ("csat_max", 1, 5), ("ces_min", 1, 7)]
        for name, lo, hi in checks:
            value = data.get(name)
            if value is not None and not lo <= value <= hi:
                self.add_error(name, f"Must be within the scale {lo}–{hi}.")
        value = data.get("sentiment_max")
        if value is not None and not -1 <= value <= 1:
            self.add_error("sentiment_max", "Sentiment runs from -1 (very negative) to 1.")
        return data


class OuterLoopSettingsForm(forms.ModelForm):
    class Meta:
        model = OuterLoopSettings
        fields = ["threshold", "window_days"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("threshold") is not None and data["threshold"] < 1:
            self.add_error("threshold", "At least one insight.")
        if data.get("window_days") is not None and data["window_days"] < 1:
            self.add_error("window_days", "At least one day.")
        return data


# --- the routing settings page --------------------------------------------------------------------


def _sla_rows() -> list[dict[str, Any]]:
    policies = {(p.priority, p.loop): p for p in SLAPolicy.objects.all()}
    rows = []
    for loop in Loop:
        for priority in Priority:
            policy = policies.get((priority.value, loop.value))
            hours, days = DEFAULT_POLICIES[(priority.value, loop.value)]
            rows.append(
                {
                    "loop": loop,
                    "priority": priority,
                    "policy": policy,
                    "hours": policy.first_contact_hours if policy else hours,
                    "days": policy.resolve_days if policy else days,
                    "is_default": policy is None,
                }
            )
    return rows


def _routing_context(**extra: Any) -> dict[str, Any]:
    context = {
        "themes": Theme.objects.select_related("department").order_by("name"),
        "rules": RoutingRule.objects.select_related(
            "department", "owner", "program", "source", "touchpoint", "theme"
        ).order_by("is_default", "position", "id"),
        "sla_rows": _sla_rows(),
        "policy_form": ActionabilityPolicyForm(instance=ActionabilityPolicy.current()),
        "outer_form": OuterLoopSettingsForm(instance=OuterLoopSettings.current()),
        "theme_form": ThemeForm(),
    }
    context.update(extra)
    return context


@login_required
def routing_settings(request: HttpRequest) -> HttpResponse:
    _require_leader(request)
    template = "feedback/settings/routing.html"
    if request.htmx:
        template += "#rule-list"
    return render(request, template, _routing_context())


@login_required
def theme_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_leader(request)
    theme = get_object_or_404(Theme, pk=pk) if pk else None
    form = ThemeForm(request.POST or None, instance=theme)
    if request.method == "POST" and form.is_valid():
        try:
            settings_object_save(obj=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"Theme “{form.instance.name}” saved.")
            return redirect("feedback:routing")
    status = 400 if request.method == "POST" else 200
    return render(request, "feedback/settings/theme_form.html", {"form": form, "theme": theme}, status=status)


@login_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or edit a rule; the "Preview" button shows what it would match, without saving."""
    _require_leader(request)
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    form = RoutingRuleForm(request.POST or None, instance=rule)
    preview = None
    if request.method == "POST":
        if form.is_valid():
            candidate = form.save(commit=False)
            if "preview" in request.POST:
                matched, looked_at, sample = rule_preview(rule=candidate, limit=PREVIEW_LIMIT)
                preview = {"matched": matched, "looked_at": looked_at, "sample": sample}
            else:
                try:
                    routing_rule_save(rule=candidate)
                except ValidationError as exc:
                    _apply_errors(form, exc)
                else:
                    messages.success(request, f"Rule “{candidate.name}” saved.")
                    return redirect("feedback:routing")
        template = "feedback/settings/rule_form.html"
        if request.htmx and "preview" in request.POST:
            template += "#rule-preview"
        status = 200 if form.is_valid() and not form.errors else 400
        return render(request, template, {"form": form, "rule": rule, "preview": preview}, status=status)
    return render(request, "feedback/settings/rule_form.html", {"form": form, "rule": rule, "preview": None})


@login_required
@require_POST
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_leader(request)
    rule = get_object_or_404(RoutingRule, pk=pk)
    try:
        routing_rule_move(rule=rule, direction=request.POST.get("direction", ""))
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    if request.htmx:
        return render(request, "feedback/settings/routing.html#rule-list", _routing_context())
    return redirect("feedback:routing")


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_leader(request)
    rule = get_object_or_404(RoutingRule, pk=pk)
    name = rule.name
    rule.delete()
    messages.success(request, f"Rule “{name}” deleted.")
    return redirect("feedback:routing")


@login_required
def sla_edit(request: HttpRequest, priority: str, loop: str) -> HttpResponse:
    _require_leader(request)
    if priority not in Priority.values or loop not in Loop.values:
        raise Http404("No such SLA policy.")
    policy = SLAPolicy.objects.filter(priority=priority, loop=loop).first()
    if policy is None:
        hours, days = DEFAULT_POLICIES[(priority, loop)]
        policy = SLAPolicy(priority=priority, loop=loop, first_contact_hours=hours, resolve_days=days)
    form = SLAPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            settings_object_save(obj=form.save(commit=False))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"SLA for {policy} saved.")
            return redirect("feedback:routing")
    status = 400 if request.method == "POST" else 200
    return render(request, "feedback/settings/sla_form.html", {"form": form, "policy": policy}, status=status)


def _singleton_save(
    request: HttpRequest, form_class: type[forms.ModelForm], instance: Any, key: str
) -> HttpResponse:
    _require_leader(request)
    form = form_class(request.POST, instance=instance)
    saved = False
    if form.is_valid():
        try:
            settings_object_save(obj=form.save(commit=False))
            saved = True
        except ValidationError as exc:
            _apply_errors(form, exc)
    if request.htmx:
        context = {key: form, f"{key}_saved": saved}
        return render(
            request,
            f"feedback/settings/routing.html#{key.replace('_form', '')}-settings",
            context,
            status=200 if saved else 400,
        )
    if saved:
        messages.success(request, "Settings saved.")
        return redirect("feedback:routing")
    return render(request, "feedback/settings/routing.html", _routing_context(**{key: form}), status=400)


@login_required
@require_POST
def policy_save(request: HttpRequest) -> HttpResponse:
    return _singleton_save(request, ActionabilityPolicyForm, ActionabilityPolicy.current(), "policy_form")


@login_required
@require_POST
def outer_loop_save(request: HttpRequest) -> HttpResponse:
    return _singleton_save(request, OuterLoopSettingsForm, OuterLoopSettings.current(), "outer_form")


# --- pipeline health ------------------------------------------------------------------------------


def pipeline_health_data(*, now: Any = None) -> dict[str, Any]:
    """What an operator checks first: is work flowing, and what is stuck. Fixed query count."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CXGOV_OUTBOX_STALE_SECONDS)
    pending = OutboxEvent.objects.filter(processed_at=None)
    backlog = pending.aggregate(
        count=Count("id"),
        oldest=Min("created_at"),
        stuck=Count("id", filter=Q(created_at__lt=stale)),
        errored=Count("id", filter=~Q(last_error="")),
    )
    stuck_events = list(pending.filter(created_at__lt=stale).order_by("created_at")[:50])
    try:
        from django_celery_beat.models import PeriodicTask

        beats = list(PeriodicTask.objects.order_by("name").values("name", "task", "last_run_at", "enabled"))
    except Exception:  # beat tables absent (embedded default before migrate)
        beats = []
    notes = Notification.objects.filter(status__in=[Notification.Status.FAILED, Notification.Status.GAVE_UP])
    return {
        "backlog": backlog,
        "oldest_age": (now - backlog["oldest"]) if backlog["oldest"] else None,
        "stuck_events": stuck_events,
        "beats": beats,
        "failed_notifications": list(notes.select_related("user").order_by("-created_at")[:50]),
        "failed_notification_count": notes.count(),
        "failed_responses": Response.objects.filter(status=Response.Status.FAILED).count(),
        "rules_active": len(active_rules()),
        "has_default_rule": RoutingRule.objects.filter(is_default=True, is_active=True).exists(),
        "cx_leaders": get_user_model().objects.filter(groups__name=Role.CX_LEADER.label).count(),
    }


@login_required
def pipeline_health(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    template = "feedback/pipeline/health.html"
    if request.htmx:
        template += "#health-panels"
    return render(request, template, pipeline_health_data())


@login_required
@require_POST
def pipeline_rerun(request: HttpRequest) -> HttpResponse:
    """Publish stuck events again through the outbox relay and retry failed notifications.

    The relay never calls the broker in this request thread (a dead Redis must not hang it).
    """
    from .notifications import notification_dispatch
    from .outbox import outbox_relay

    _require_staff(request)
    stale = timezone.now() - timedelta(seconds=settings.CXGOV_OUTBOX_STALE_SECONDS)
    event_ids = list(
        OutboxEvent.objects.filter(processed_at=None, created_at__lt=stale)
        .order_by("id")
        .values_list("id", flat=True)[:1000]
    )
    Response.objects.filter(status=Response.Status.FAILED).update(status=Response.Status.RECEIVED)
    if event_ids:
        outbox_relay(event_ids=event_ids)
    note_ids = list(
        Notification.objects.filter(
            status__in=[Notification.Status.FAILED, Notification.Status.GAVE_UP]
        ).values_list("id", flat=True)[:500]
    )
    if note_ids:
        Notification.objects.filter(id__in=note_ids, status=Notification.Status.GAVE_UP).update(
            status=Notification.Status.FAILED, attempts=0
        )
        notification_dispatch(notification_ids=note_ids)
    messages.success(
        request, f"Published {len(event_ids)} stuck event(s) again; retried {len(note_ids)} notification(s)."
    )
    if request.htmx:
        return render(request, "feedback/pipeline/health.html#health-panels", pipeline_health_data())
    return redirect("feedback:pipeline-health")
