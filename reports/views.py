"""Pages of the reports area: role dashboards, ROI assumptions, PDF reports. Thin and htmx-aware."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from charter.document_views import form_add_validation_error
from charter.documents import document_approvals_pending
from charter.selectors import department_list
from cxgov.exports import csv_response
from missions.services import success_measure_return as measure_return
from missions.services import success_measure_validate as measure_validate

from . import selectors, services, validation
from .forms import FigureReturnForm, FigureValidateForm, ReportRequestForm, RoiAssumptionForm
from .models import Report, RoiAssumption

PERIODS = {"30": 30, "90": 90, "180": 180, "365": 365}
MINIMUMS = (10, 30, 50, 100)


def _minimum(request: HttpRequest) -> int:
    """The dashboard's minimum answers for a score (``?min_n=``; 30 unless one of ``MINIMUMS``)."""
    value = request.GET.get("min_n", "")
    return int(value) if value.isdigit() and int(value) in MINIMUMS else 30


def _period(request: HttpRequest) -> tuple[str, selectors.Period]:
    key = request.GET.get("days", "90")
    key = key if key in PERIODS else "90"
    return key, selectors.Period.last_days(PERIODS[key])


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    days, period = _period(request)
    data = selectors.dashboard(user=request.user, period=period, minimum=_minimum(request))
    template = "reports/dashboard.html"
    context = {**data, "days": days, "periods": PERIODS, "minimums": MINIMUMS}
    if request.htmx:  # the period and minimum filters swap the body only
        return render(request, template + "#dashboard-body", context)
    # a leader's home shows the questions finance returned; an executive's starts with what
    # waits for their approval
    context["returned"] = validation.returned_questions(user=request.user)
    context["pending_approvals"] = document_approvals_pending(user=request.user)
    return render(request, template, context)


EXPORTS = (
    "trends",
    "loops",
    "themes",
    "programs",
    "scorecard",
    "roi",
    "departments",
    "excx",
    "moments",
    "maturity",
)


@login_required
def dashboard_export_view(request: HttpRequest, table: str) -> HttpResponse:
    """Every dashboard table as CSV (cells neutralised against formula injection)."""
    if table not in EXPORTS:
        raise Http404
    _days, period = _period(request)
    header, rows = selectors.dashboard_table(user=request.user, period=period, table=table)
    return csv_response(filename=f"cxgov-{table}-{period.start}-{period.end}.csv", header=header, rows=rows)


# --- ROI assumptions --------------------------------------------------------------------


@login_required
def roi_assumption_list_view(request: HttpRequest) -> HttpResponse:
    assumptions = RoiAssumption.objects.select_related("department", "owner", "validated_by", "updated_by")
    return render(
        request,
        "reports/roi_assumptions.html",
        {
            "assumptions": assumptions,
            "can_edit": services.roi_can_edit(request.user),
            "can_validate": services.roi_can_validate(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def roi_assumption_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not services.roi_can_edit(request.user):
        raise PermissionDenied
    assumption = get_object_or_404(RoiAssumption, pk=pk) if pk else None
    form = RoiAssumptionForm(request.POST or None, instance=assumption)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.roi_assumption_save(assumption=assumption, data=data, by=request.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Assumptions saved. They need a finance partner's validation.")
            return redirect("reports:roi-assumptions")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "reports/roi_assumption_form.html", {"form": form, "assumption": assumption}, status=status
    )


@login_required
@require_POST
def roi_assumption_validate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Kept for old links and forms: validating happens in the finance queue, with a note."""
    return validation_validate_view(request, kind="assumption", pk=pk)


# --- finance validation queue -------------------------------------------------------------


def _require_finance(request: HttpRequest) -> None:
    if not services.roi_can_validate(request.user):
        raise PermissionDenied("Only finance partners validate figures.")


def _queue_page(
    request: HttpRequest, *, forms_for: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    items = validation.validation_queue()
    forms_for = forms_for or {}
    for item in items:
        item.validate_form = forms_for.get(f"validate-{item.key}") or FigureValidateForm(prefix=item.key)
        item.return_form = forms_for.get(f"return-{item.key}") or FigureReturnForm(prefix=item.key)
    return render(request, "reports/validation_queue.html", {"items": items}, status=status)


@login_required
def validation_queue_view(request: HttpRequest) -> HttpResponse:
    """Where a finance partner lands: every figure waiting for them, longest waiting first."""
    _require_finance(request)
    return _queue_page(request)


def _queue_figure(kind: str, pk: int) -> Any:
    figure = validation.validation_queue_item(kind=kind, pk=pk)
    if figure is None:
        raise Http404("No such figure")
    return figure


@login_required
@require_POST
def validation_validate_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_finance(request)
    figure = _queue_figure(kind, pk)
    key = f"{kind}-{pk}"
    form = FigureValidateForm(request.POST, prefix=key)
    if form.is_valid():
        try:
            if kind == "measure":
                measure_validate(
                    measure=figure,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    evidence_url=form.cleaned_data["evidence_url"],
                )
            else:
                services.roi_assumption_validate(
                    assumption=figure,
                    by=request.user,
                    note=form.cleaned_data["note"],
                    evidence_url=form.cleaned_data["evidence_url"],
                )
        except ValidationError as exc:
            form_add_validation_error(form, exc)
        else:
            messages.success(request, f"Validated: {figure}.")
            return redirect("reports:validation-queue")
    return _queue_page(request, forms_for={f"validate-{key}": form}, status=400)


@login_required
@require_POST
def validation_return_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_finance(request)
    figure = _queue_figure(kind, pk)
    key = f"{kind}-{pk}"
    form = FigureReturnForm(request.POST, prefix=key)
    if form.is_valid():
        question = form.cleaned_data["question"]
        try:
            if kind == "measure":
                measure_return(measure=figure, by=request.user, question=question)
            else:
                services.roi_assumption_return(assumption=figure, by=request.user, question=question)
        except ValidationError as exc:
            form_add_validation_error(form, exc)
        else:
            messages.success(request, f"Returned to the CX leader with your question: {figure}.")
            return redirect("reports:validation-queue")
    return _queue_page(request, forms_for={f"return-{key}": form}, status=400)


# --- PDF reports ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report_list_view(request: HttpRequest) -> HttpResponse:
    departments = department_list(user=request.user)
    form = ReportRequestForm(request.POST or None, departments=departments)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["departments"]
        try:
            report, created = services.report_request(
                user=request.user,
                period_start=form.cleaned_data["period_start"],
                period_end=form.cleaned_data["period_end"],
                department_ids={d.id for d in chosen} or None,
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            if not created:
                messages.info(
                    request, "Nothing changed since the last report with these parameters: here it is."
                )
            return redirect("reports:report-detail", pk=report.pk)
    page = Paginator(selectors.report_list(user=request.user), 25).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"form": form, "reports": page.object_list, "page": page}
    return render(request, "reports/report_list.html", context, status=400 if form.errors else 200)


@login_required
def report_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_get(user=request.user, pk=pk)
    if report is None:
        raise Http404("No such report in your scope")
    template = "reports/report_detail.html"
    if request.htmx:
        template += "#report-status"
    return render(request, template, {"report": report})


@login_required
def report_download_view(request: HttpRequest, pk: int) -> FileResponse:
    report = selectors.report_get(user=request.user, pk=pk)
    if report is None or report.status != Report.Status.DONE or not report.file:
        raise Http404("No such report in your scope")
    name = f"cx-report-{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}.pdf"
    return FileResponse(
        report.file.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
    )


def report_detail_url(report: Report) -> str:
    return reverse("reports:report-detail", kwargs={"pk": report.pk})
