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

from charter.documents import document_approvals_pending
from charter.selectors import department_list
from cxgov.exports import csv_response

from . import selectors, services
from .forms import ReportRequestForm, RoiAssumptionForm
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
    if request.htmx:
        template += "#dashboard-body"
        return render(request, template, {**data, "days": days, "periods": PERIODS, "minimums": MINIMUMS})
    # an executive's home starts with what waits for their approval
    pending = document_approvals_pending(user=request.user)
    context = {**data, "days": days, "periods": PERIODS, "minimums": MINIMUMS, "pending_approvals": pending}
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
    if not services.roi_can_validate(request.user):
        raise PermissionDenied
    assumption = get_object_or_404(RoiAssumption, pk=pk)
    services.roi_assumption_validate(assumption=assumption, by=request.user)
    messages.success(request, f"Validated: {assumption.segment}.")
    return redirect("reports:roi-assumptions")


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
