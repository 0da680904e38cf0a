"""Mission, success statement (with measures and actuals) and Mission Moments in the browser."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from charter.document_views import DocumentKind, form_add_validation_error, validation_messages

from . import selectors, services
from .forms import (
    ActualChangeForm,
    FigureValidateForm,
    MeasureActualForm,
    MissionMomentForm,
    MissionVersionForm,
    SuccessMeasureForm,
    SuccessStatementVersionForm,
)
from .measure_status import measure_status
from .models import MeasureActual, MissionMoment, MissionVersion, SuccessMeasure, SuccessStatementVersion

MISSION = DocumentKind(
    model=MissionVersion,
    form_class=MissionVersionForm,
    namespace="missions",
    slug="mission",
    title="CX Mission Statement",
    main_url_name="mission",
)
SUCCESS = DocumentKind(
    model=SuccessStatementVersion,
    form_class=SuccessStatementVersionForm,
    namespace="missions",
    slug="success",
    title="CX Success Statement",
    main_url_name="success",
)


@login_required
def mission_view(request: HttpRequest) -> HttpResponse:
    return render(request, "missions/mission.html", MISSION.status(request.user))


@login_required
def success_view(request: HttpRequest) -> HttpResponse:
    ctx = {**SUCCESS.status(request.user), "measures": selectors.success_measures_with_status()}
    return render(request, "missions/success.html", ctx)


# --- measures ------------------------------------------------------------------------------------


def _measure(pk: int):  # type: ignore[no-untyped-def]
    measure = selectors.success_measure_get(pk=pk)
    if measure is None:
        raise Http404("No such measure")
    return measure


@login_required
def measure_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not (request.user.is_cx_leader or request.user.is_superuser):
        raise PermissionDenied("Only CX leaders edit success measures.")
    measure = _measure(pk) if pk else None
    form = SuccessMeasureForm(request.POST or None, instance=measure)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.success_measure_save(
                    measure=form.save(commit=False),
                    by=request.user,
                    scope_departments=list(form.cleaned_data["scope_departments"]),
                )
            except ValidationError as exc:
                form_add_validation_error(form, exc)
            else:
                if result.validation_cleared:
                    messages.warning(
                        request,
                        f"You changed a validated figure of “{result.measure}”: finance's validation was "
                        "cleared and must be given again.",
                    )
                else:
                    messages.success(request, f"Measure “{result.measure}” saved.")
                return redirect("missions:measure-detail", pk=result.measure.pk)
        status = 400
    return render(request, "missions/measure_form.html", {"form": form, "measure": measure}, status=status)


def _actual_audit(measure: SuccessMeasure) -> list[dict[str, Any]]:
    """Every change to the measure's actuals, newest first, as old → new values with the reason
    (two queries: the history rows and their users)."""
    records = list(
        MeasureActual.history.filter(measure_id=measure.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    last: dict[int, Any] = {}
    out = []
    verbs = {"+": "added", "~": "corrected", "-": "deleted"}
    for record in records:
        before = last.get(record.id)
        changes = []
        for name in ("date", "value", "note"):
            new = getattr(record, name)
            old = getattr(before, name) if before is not None else None
            if record.history_type == "-":
                changes.append({"field": name, "old": new, "new": None})
            elif before is None or old != new:
                changes.append({"field": name, "old": old, "new": new})
        last[record.id] = record
        if record.history_type == "~" and not changes:
            continue
        out.append(
            {
                "record": record,
                "verb": verbs.get(record.history_type, record.history_type),
                "changes": changes,
                "reason": record.history_change_reason or "",
            }
        )
    return list(reversed(out))[:100]


@login_required
def measure_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _measure(pk)
    audit = list(measure.history.select_related("history_user").order_by("-history_date", "-history_id")[:50])
    changes = []
    for i, record in enumerate(audit):
        prev = audit[i + 1] if i + 1 < len(audit) else None
        if prev:
            diff = record.diff_against(prev).changes
            fields = [f"{c.field}: {c.old if c.old not in (None, '') else '—'} → {c.new}" for c in diff]
        else:
            fields = ["created"]
        changes.append({"record": record, "fields": fields})
    measure.status = measure_status(measure)
    ctx = {
        "measure": measure,
        "actual_form": MeasureActualForm(),
        "validate_form": FigureValidateForm(),
        "audit": changes,
        "actual_audit": _actual_audit(measure),
        "can_edit": request.user.is_cx_leader or request.user.is_superuser,
        "can_validate": request.user.is_finance or request.user.is_superuser,
        "can_enter": not measure.is_cx_metric
        and (request.user.is_cx_leader or request.user.is_finance or request.user.is_superuser),
    }
    return render(request, "missions/measure_detail.html", ctx)


@login_required
@require_POST
def measure_validate_view(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _measure(pk)
    if not services.validation_can_give(request.user):
        raise PermissionDenied("Only a finance partner validates a measure's figures.")
    form = FigureValidateForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("missions:measure-detail", pk=pk)
    try:
        services.success_measure_validate(
            measure=measure,
            by=request.user,
            note=form.cleaned_data["note"],
            evidence_url=form.cleaned_data["evidence_url"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(validation_messages(exc)))
        return redirect("missions:measure-detail", pk=pk)
    messages.success(request, f"Figures of “{measure}” validated.")
    return redirect("missions:measure-detail", pk=pk)


@login_required
@require_POST
def measure_actual_view(request: HttpRequest, pk: int) -> HttpResponse:
    measure = _measure(pk)
    form = MeasureActualForm(request.POST)
    if form.is_valid():
        try:
            services.measure_actual_enter(
                measure=measure,
                on=form.cleaned_data["date"],
                value=form.cleaned_data["value"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as exc:
            form_add_validation_error(form, exc)
        else:
            messages.success(request, "Actual recorded.")
            return redirect("missions:measure-detail", pk=pk)
    measure.status = measure_status(measure)
    ctx = {"measure": measure, "actual_form": form, "audit": [], "can_enter": True}
    return render(request, "missions/measure_detail.html", ctx, status=400)


@login_required
@require_POST
def measure_actual_change_view(request: HttpRequest, pk: int, actual_pk: int) -> HttpResponse:
    """Correct (new value and/or date) or delete an entered actual; both need a reason."""
    measure = _measure(pk)
    actual = get_object_or_404(MeasureActual, pk=actual_pk, measure=measure)
    form = ActualChangeForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["delete"]:
                services.measure_actual_delete(
                    actual=actual, by=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(request, "Actual deleted; the audit trail keeps its value and your reason.")
            else:
                services.measure_actual_correct(
                    actual=actual,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    value=form.cleaned_data["value"],
                    on=form.cleaned_data["date"],
                )
                messages.success(request, "Actual corrected; the audit trail keeps old and new values.")
        except ValidationError as exc:
            form_add_validation_error(form, exc)
        else:
            return redirect("missions:measure-detail", pk=pk)
    measure.status = measure_status(measure)
    ctx = {
        "measure": measure,
        "actual_form": MeasureActualForm(),
        "change_form": form,
        "change_actual": actual,
        "audit": [],
        "can_enter": True,
    }
    return render(request, "missions/measure_detail.html", ctx, status=400)


# --- moments -------------------------------------------------------------------------------------


@login_required
def moment_list_view(request: HttpRequest) -> HttpResponse:
    featured = {"yes": True, "no": False}.get(request.GET.get("featured", ""))
    form = MissionMomentForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                moment = services.moment_submit(moment=form.save(commit=False), by=request.user)
            except ValidationError as exc:
                form_add_validation_error(form, exc)
            else:
                messages.success(request, f"Thank you — “{moment.title}” was shared.")
                return redirect("missions:moments")
        status = 400
    page = Paginator(selectors.moment_list(featured=featured), 20).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "form": form,
        "featured": request.GET.get("featured", ""),
        "can_feature": request.user.is_cx_leader,
    }
    template = (
        "missions/moments.html#moment-list"
        if request.htmx and request.method == "GET"
        else "missions/moments.html"
    )
    return render(request, template, ctx, status=status)


@login_required
@require_POST
def moment_feature_view(request: HttpRequest, pk: int) -> HttpResponse:
    moment = get_object_or_404(MissionMoment, pk=pk)
    moment = services.moment_feature(
        moment=moment, featured=request.POST.get("featured") == "1", by=request.user
    )
    if request.htmx:
        moment = selectors.moment_list().get(pk=moment.pk)
        return render(request, "missions/moments.html#moment", {"moment": moment, "can_feature": True})
    messages.success(
        request, f"“{moment}” is {'now featured' if moment.is_featured else 'no longer featured'}."
    )
    return redirect("missions:moments")
