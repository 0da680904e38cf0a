"""Charter, departments, journey map and maturity in the browser.

Views are thin: parse input, call one selector or service, render. htmx requests get the
named partial of the same template; every htmx interaction is also a plain form POST.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pygal
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cxgov.fields import IdListField
from cxgov.pdf import render_pdf

from . import documents, selectors, services
from .document_views import DocumentKind, form_add_validation_error, validation_messages
from .forms import (
    CharterRoleForm,
    CharterVersionForm,
    DecisionForm,
    DepartmentGoalForm,
    GovernanceActivityForm,
    GovernanceMeetingForm,
    JourneyStageForm,
    MaturityAssessmentForm,
    PriorityForm,
    TouchpointForm,
)
from .models import (
    CharterRole,
    CharterVersion,
    Decision,
    DepartmentGoal,
    DocState,
    GovernanceActivity,
    GovernanceMeeting,
    JourneyStage,
    MaturityAssessment,
    MaturityDimension,
    MaturityStatement,
    Priority,
    RaciAssignment,
    Touchpoint,
)

CHARTER = DocumentKind(
    model=CharterVersion,
    form_class=CharterVersionForm,
    namespace="charter",
    slug="charter",
    title="CX Charter",
    main_url_name="charter",
    create=services.charter_draft_create,
    submit_prepare=services.charter_prepare,
)


def _form_page(
    request: HttpRequest,
    *,
    form: forms.BaseForm,
    title: str,
    back_url: str,
    save: Callable[[Any], Any],
    done: str,
    delete_url: str | None = None,
) -> HttpResponse:
    """A plain create/edit page: validate, call the service, redirect back with a message."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                obj = save(form)
            except ValidationError as exc:
                form_add_validation_error(form, exc)
            else:
                messages.success(request, done.format(obj=obj))
                return redirect(back_url)
        status = 400
    ctx = {"form": form, "title": title, "back_url": back_url, "delete_url": delete_url}
    return render(request, "charter/form_page.html", ctx, status=status)


# --- charter -------------------------------------------------------------------------------------


def _charter_context(request: HttpRequest) -> dict[str, Any]:
    """The working copy (the draft's live lists), with the banner and diff against published."""
    status = CHARTER.status(request.user)
    in_review = status["work"] is not None and status["work"].state == DocState.IN_REVIEW
    return {
        **status,
        "contents": selectors.charter_contents(),
        # while a version is in review its lists are what the executive reads: no edit controls
        "can_manage": (request.user.is_cx_leader or request.user.is_superuser) and not in_review,
        "pending": _pending_changes(status["published"], status["work"]),
    }


def _pending_changes(published: CharterVersion | None, work: CharterVersion | None) -> dict[str, Any] | None:
    """What the open draft changes against the published version (None: no open version)."""
    if work is None:
        return None
    if published is None:
        return {"work": work, "sections": [], "changed": ["everything (nothing is published yet)"]}
    sections = documents.document_diff(old=published, new=work)
    return {"work": work, "sections": sections, "changed": [s.label for s in sections if s.changed]}


@login_required
def charter_view(request: HttpRequest) -> HttpResponse:
    """The charter as approved: the published version and its snapshot, never the live lists."""
    status = CHARTER.status(request.user)
    published = status["published"]
    ctx = {
        **status,
        "snap": selectors.charter_snapshot_contents(published.snapshot if published else None),
        "decisions": selectors.decision_list(),
        "pending": _pending_changes(published, status["work"]),
        "can_manage": request.user.is_cx_leader or request.user.is_superuser,
    }
    return render(request, "charter/charter.html", ctx)


@login_required
def charter_draft_view(request: HttpRequest) -> HttpResponse:
    """The working copy a CX leader edits: every change lands in the open draft."""
    return render(request, "charter/charter_draft.html", _charter_context(request))


@login_required
def charter_history_view(request: HttpRequest) -> HttpResponse:
    """Audit trail of the charter's live lists (versions have their own pages)."""
    return render(request, "charter/charter_history.html", {"entries": selectors.governance_audit()})


@login_required
def charter_pdf_view(request: HttpRequest) -> HttpResponse:
    """The one-page charter to hand to a new department leader: the published version only."""
    published = documents.document_published(model=CharterVersion)
    ctx = {
        "published": published,
        "snap": selectors.charter_snapshot_contents(published.snapshot if published else None),
        "decisions": selectors.decision_list()[:4],
        "generated_at": timezone.now(),
    }
    html = render_to_string("charter/charter_pdf.html", ctx, request=request)
    pdf = render_pdf(html=html)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="cx-charter.pdf"'
    return response


def _raci_cell(
    request: HttpRequest,
    activity: GovernanceActivity,
    role: CharterRole,
    value: str,
    *,
    error: str = "",
    refused: str = "",
) -> HttpResponse:
    # After a refused value (a second A), the next click moves past it instead of repeating it.
    next_value = services.raci_next(refused.strip().upper() if error else value)
    ctx = {"activity": activity, "role": role, "value": value, "next_value": next_value, "error": error}
    return render(request, "charter/charter_draft.html#raci-cell", ctx)


@login_required
@require_POST
def raci_cell_view(request: HttpRequest, activity_pk: int, role_pk: int) -> HttpResponse:
    activity = get_object_or_404(GovernanceActivity, pk=activity_pk)
    role = get_object_or_404(CharterRole, pk=role_pk)
    value = request.POST.get("value", "")
    try:
        services.raci_cell_set(activity=activity, role=role, value=value, by=request.user)
    except ValidationError as exc:
        error = " ".join(validation_messages(exc))
        current = (
            RaciAssignment.objects.filter(activity=activity, role=role)
            .values_list("value", flat=True)
            .first()
        )
        if request.htmx:  # htmx swaps only 2xx: show the message inside the cell
            return _raci_cell(request, activity, role, current or "", error=error, refused=value)
        messages.error(request, error)
        return render(request, "charter/charter_draft.html", _charter_context(request), status=400)
    if request.htmx:
        return _raci_cell(request, activity, role, value.strip().upper())
    messages.success(request, f"{activity} × {role}: {value or 'cleared'}.")
    return redirect(reverse("charter:charter-draft") + "#raci")


def _priority_list_response(request: HttpRequest, *, moved: Priority | None = None) -> HttpResponse:
    if request.htmx:
        ctx = {"contents": selectors.charter_contents(), "can_manage": True, "moved": moved}
        return render(request, "charter/charter_draft.html#priority-list", ctx)
    return redirect(reverse("charter:charter-draft") + "#priorities")


@login_required
@require_POST
def priority_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    priority = get_object_or_404(Priority, pk=pk)
    try:
        services.priority_move(
            priority=priority, direction=request.POST.get("direction", ""), by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(validation_messages(exc)))
        return render(request, "charter/charter_draft.html", _charter_context(request), status=400)
    return _priority_list_response(request, moved=priority)


@login_required
@require_POST
def priority_reorder_view(request: HttpRequest) -> HttpResponse:
    try:
        order = IdListField(required=False).clean(request.POST.getlist("order"))
        services.priority_reorder(order=order, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(validation_messages(exc)))
        return render(request, "charter/charter_draft.html", _charter_context(request), status=400)
    return _priority_list_response(request)


def _governance_form_view(
    model: type[Model],
    form_class: type[forms.ModelForm],
    label: str,
    anchor: str,
    save: Callable[..., Any] | None = None,
) -> tuple[Callable[..., HttpResponse], Callable[..., HttpResponse]]:
    """Create/edit and delete views for a charter list (roles, activities, cadence, decisions, priorities)."""

    @login_required
    def edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
        services.require_governance(request.user)
        instance = get_object_or_404(model, pk=pk) if pk else None
        form = form_class(request.POST or None, instance=instance)
        saver = save or (lambda obj, by: services.governance_record_save(instance=obj, by=by))
        return _form_page(
            request,
            form=form,
            title=f"{'Edit' if instance else 'New'} {label}",
            back_url=reverse("charter:charter-draft") + f"#{anchor}",
            save=lambda f: saver(f.save(commit=False), request.user),
            done=f"{label.capitalize()} “{{obj}}” saved.",
            delete_url=reverse(f"charter:{anchor}-delete", kwargs={"pk": pk}) if pk else None,
        )

    @login_required
    @require_POST
    def delete(request: HttpRequest, pk: int) -> HttpResponse:
        instance = get_object_or_404(model, pk=pk)
        try:
            services.governance_record_delete(instance=instance, by=request.user)
        except Exception as exc:  # ProtectedError: still linked from elsewhere
            if isinstance(exc, PermissionDenied):
                raise
            if isinstance(exc, ValidationError):  # a decision (a record) or a charter in review
                messages.error(request, " ".join(validation_messages(exc)))
                return redirect(reverse("charter:charter-draft") + f"#{anchor}")
            messages.error(request, f"“{instance}” is still in use and cannot be deleted.")
            return redirect(reverse("charter:charter-draft") + f"#{anchor}")
        messages.success(request, f"{label.capitalize()} “{instance}” deleted.")
        return redirect(reverse("charter:charter-draft") + f"#{anchor}")

    return edit, delete


role_edit_view, role_delete_view = _governance_form_view(CharterRole, CharterRoleForm, "role", "roles")
activity_edit_view, activity_delete_view = _governance_form_view(
    GovernanceActivity, GovernanceActivityForm, "activity", "raci"
)
meeting_edit_view, meeting_delete_view = _governance_form_view(
    GovernanceMeeting, GovernanceMeetingForm, "meeting", "cadence"
)
decision_edit_view, decision_delete_view = _governance_form_view(
    Decision, DecisionForm, "decision", "decisions"
)
priority_edit_view, priority_delete_view = _governance_form_view(
    Priority,
    PriorityForm,
    "priority",
    "priorities",
    save=lambda obj, by: services.priority_save(priority=obj, by=by),
)


# --- departments -----------------------------------------------------------------------------------


@login_required
def department_list_view(request: HttpRequest) -> HttpResponse:
    departments = list(selectors.department_overview_list(user=request.user))
    editable = selectors.department_ambassador_ids(user=request.user)
    ctx = {"departments": departments, "editable_ids": editable, "edit_all": request.user.is_cx_leader}
    return render(request, "charter/department_list.html", ctx)


@login_required
def department_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    department = selectors.department_get(user=request.user, slug=slug)
    if department is None:
        raise Http404("No such department in your scope")
    ctx = {
        "department": department,
        "goals": list(department.goals.order_by("position", "id")),
        "ambassadors": list(department.ambassadors.all()),
        "touchpoints": list(department.touchpoints.select_related("stage")),
        "can_edit": services.goal_can_edit(user=request.user, department=department),
    }
    return render(request, "charter/department_detail.html", ctx)


@login_required
def goal_edit_view(request: HttpRequest, slug: str | None = None, pk: int | None = None) -> HttpResponse:
    """Ambassadors reach only their own department's goals; everything else is a 404."""
    if pk is not None:
        goal = selectors.department_goal_get(user=request.user, pk=pk)
        if goal is None or not services.goal_can_edit(user=request.user, department=goal.department):
            raise Http404("No such department goal in your scope")
        department = goal.department
    else:
        department = selectors.department_get(user=request.user, slug=slug or "")
        if department is None or not services.goal_can_edit(user=request.user, department=department):
            raise Http404("No such department in your scope")
        goal = DepartmentGoal(department=department)
    form = DepartmentGoalForm(request.POST or None, instance=goal)
    back = reverse("charter:department-detail", kwargs={"slug": department.slug})
    return _form_page(
        request,
        form=form,
        title=f"{'Edit' if pk else 'New'} goal of {department}",
        back_url=back,
        save=lambda f: services.department_goal_save(goal=f.save(commit=False), by=request.user),
        done="Goal “{obj.title}” saved.",
        delete_url=reverse("charter:goal-delete", kwargs={"pk": pk}) if pk else None,
    )


@login_required
@require_POST
def goal_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    goal = selectors.department_goal_get(user=request.user, pk=pk)
    if goal is None:
        raise Http404("No such department goal in your scope")
    services.department_goal_delete(goal=goal, by=request.user)
    messages.success(request, f"Goal “{goal.title}” deleted.")
    return redirect("charter:department-detail", slug=goal.department.slug)


# --- journey -------------------------------------------------------------------------------------


@login_required
def journey_view(request: HttpRequest) -> HttpResponse:
    ctx = {"stages": list(selectors.journey_stage_list()), "can_manage": request.user.is_cx_leader}
    return render(request, "charter/journey.html", ctx)


def _journey_edit(
    model: type[Model], form_class: type[forms.ModelForm], label: str
) -> Callable[..., HttpResponse]:
    @login_required
    def edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
        services.require_governance(request.user)
        instance = get_object_or_404(model, pk=pk) if pk else None
        return _form_page(
            request,
            form=form_class(request.POST or None, instance=instance),
            title=f"{'Edit' if instance else 'New'} {label}",
            back_url=reverse("charter:journey"),
            save=lambda f: services.governance_record_save(instance=f.save(commit=False), by=request.user),
            done=f"{label.capitalize()} “{{obj}}” saved.",
        )

    return edit


stage_edit_view = _journey_edit(JourneyStage, JourneyStageForm, "journey stage")
touchpoint_edit_view = _journey_edit(Touchpoint, TouchpointForm, "touchpoint")


# --- maturity ------------------------------------------------------------------------------------


def maturity_chart_data_uri(trend: list[selectors.MaturityRow]) -> str:
    """Server-rendered SVG line chart (no script), embedded as a data: image."""
    chart = pygal.Line(
        js=[],
        disable_xml_declaration=True,
        range=(1, 5),
        height=320,
        width=760,
        show_legend=True,
        legend_at_bottom=True,
        title="CX maturity by dimension (1–5)",
        style=pygal.style.CleanStyle,
    )
    chart.x_labels = [row.assessment.assessed_on.strftime("%b %Y") for row in trend]
    for dim in MaturityDimension:
        chart.add(dim.label, [row.levels.get(dim.value) for row in trend])
    svg = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@login_required
def maturity_view(request: HttpRequest) -> HttpResponse:
    trend = selectors.maturity_trend()
    ctx = {
        "trend": list(reversed(trend)),
        "dimensions": list(MaturityDimension),
        "chart": maturity_chart_data_uri(trend) if trend else None,
        "can_assess": request.user.is_cx_leader or request.user.is_executive,
    }
    return render(request, "charter/maturity.html", ctx)


@login_required
def maturity_new_view(request: HttpRequest) -> HttpResponse:
    services.require_steering(request.user)
    statements = list(MaturityStatement.objects.filter(is_active=True))
    form = MaturityAssessmentForm(request.POST or None, statements=statements)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.maturity_assessment_record(
                    assessment=form.save(commit=False), scores=form.scores(), by=request.user
                )
            except ValidationError as exc:
                form_add_validation_error(form, exc)
            else:
                messages.success(request, "Assessment recorded.")
                return redirect("charter:maturity")
        status = 400
    groups = [
        (label, form.score_fields(value)) for value, label, _ in selectors.maturity_statements_by_dimension()
    ]
    return render(request, "charter/maturity_form.html", {"form": form, "groups": groups}, status=status)


@login_required
def maturity_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_object_or_404(MaturityAssessment, pk=pk)
    scores = list(
        assessment.scores.select_related("statement").order_by("statement__dimension", "statement__position")
    )
    return render(request, "charter/maturity_detail.html", {"assessment": assessment, "scores": scores})
