"""Intake screens: programs, sources, CSV imports, manual entry, the response list and detail.

Views are thin: parse input, call one selector or service, render. htmx requests get the
named partial of the same template (same URL), and every form also works as a plain POST.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from charter.models import Department
from charter.selectors import department_ids_for, department_scope

from . import selectors
from .forms import ImportUploadForm, ManualResponseForm, ProgramForm, ResponseFilterForm, SourceForm
from .imports import import_job_create, import_job_start, import_preview
from .intake import manual_response_create, program_save, source_create, source_rotate
from .models import ImportJob, Program, Source
from .sources import PayloadError

PAGE_SIZE = 25


def _posted(request: HttpRequest) -> Any:
    """The POST data of a POST (even an empty one, so its errors show), else None."""
    return request.POST if request.method == "POST" else None


def _require_manager(request: HttpRequest) -> None:
    if not selectors.can_manage_programs(request.user):
        raise PermissionDenied("Only CX leaders set up programs and sources.")


def _program_or_404(request: HttpRequest, slug: str) -> Program:
    program = selectors.program_get(user=request.user, slug=slug)
    if program is None:
        raise Http404("No such program in your scope")
    return program


def _apply_validation_error(form: Any, exc: ValidationError) -> None:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        target = field if field in form.fields else None
        for message in messages_:
            form.add_error(target, message)


# --- programs ------------------------------------------------------------------------------


@login_required
def program_list_view(request: HttpRequest) -> HttpResponse:
    programs = list(selectors.program_list(user=request.user))
    return render(
        request,
        "feedback/program_list.html",
        {"programs": programs, "can_manage": selectors.can_manage_programs(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def program_edit_view(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    _require_manager(request)
    program = _program_or_404(request, slug) if slug else None
    form = ProgramForm(_posted(request), instance=program)
    if request.method == "POST" and form.is_valid():
        try:
            saved = program_save(program=form.save(commit=False))
        except ValidationError as exc:
            _apply_validation_error(form, exc)
        else:
            messages.success(request, f"Program “{saved.name}” saved.")
            return redirect("feedback:program-sources", slug=saved.slug)
    return render(request, "feedback/program_form.html", {"form": form, "program": program})


# --- sources -------------------------------------------------------------------------------


def _sources_page(
    request: HttpRequest, program: Program, *, form: SourceForm | None = None, shown: dict | None = None
) -> HttpResponse:
    return render(
        request,
        "feedback/program_sources.html",
        {
            "program": program,
            "sources": selectors.source_list(program=program),
            "form": form or SourceForm(initial={"timezone": "UTC"}),
            "shown": shown,
            "can_manage": selectors.can_manage_programs(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def program_sources_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Sources of a program; creating one shows its token and secret once, on this reply."""
    program = _program_or_404(request, slug)
    if request.method == "GET":
        return _sources_page(request, program)
    _require_manager(request)
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            created = source_create(
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                program=program,
                secret=form.cleaned_data["secret"],
                field_map=form.field_map(),
                scales=form.scales(),
                tz=form.cleaned_data["timezone"],
            )
        except ValidationError as exc:
            _apply_validation_error(form, exc)
        else:
            shown = created.payload(base_url=request.build_absolute_uri("/"))
            shown["name"] = created.source.name
            shown["kind"] = created.source.kind
            return _sources_page(request, program, shown=shown)
    return _sources_page(request, program, form=form)


@login_required
@require_POST
def source_rotate_view(request: HttpRequest, slug: str, source_slug: str) -> HttpResponse:
    _require_manager(request)
    program = _program_or_404(request, slug)
    source = Source.objects.filter(program=program, slug=source_slug).first()
    if source is None:
        raise Http404("No such source")
    rotated = source_rotate(source=source)
    shown = rotated.payload(base_url=request.build_absolute_uri("/"))
    shown["name"] = source.name
    shown["kind"] = source.kind
    shown["rotated"] = True
    return _sources_page(request, program, shown=shown)


# --- imports -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_upload_view(request: HttpRequest, slug: str, source_slug: str) -> HttpResponse:
    """Upload a CSV: it is stored and previewed; the import starts once confirmed."""
    _require_manager(request)
    program = _program_or_404(request, slug)
    source = Source.objects.filter(program=program, slug=source_slug).first()
    if source is None:
        raise Http404("No such source")
    form = ImportUploadForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(
                source=source, fileobj=upload, name=upload.name, by=request.user, start=False
            )
        except PayloadError as exc:
            for messages_ in exc.errors.values():
                for message in messages_:
                    form.add_error("file", message)
        else:
            return redirect("feedback:import-detail", pk=job.pk)
    jobs = selectors.import_job_list(source=source)[:10]
    return render(
        request,
        "feedback/import_upload.html",
        {"program": program, "source": source, "form": form, "jobs": jobs},
    )


def _job_or_404(request: HttpRequest, pk: int) -> ImportJob:
    job = selectors.import_job_get(user=request.user, job_id=pk)
    if job is None:
        raise Http404("No such import in your scope")
    return job


@login_required
def import_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Preview before confirming, then progress (polled by htmx as ``#import-progress``)."""
    job = _job_or_404(request, pk)
    preview = import_preview(job=job) if job.status == ImportJob.Status.PENDING else []
    template = "feedback/import_detail.html"
    if request.htmx:
        template += "#import-progress"
    return render(
        request,
        template,
        {
            "job": job,
            "preview": preview,
            "preview_errors": [r for r in preview if r.error],
            "can_manage": selectors.can_manage_programs(request.user),
            "queued": job.status == ImportJob.Status.PENDING and request.GET.get("queued") == "1",
        },
    )


@login_required
@require_POST
def import_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    job = _job_or_404(request, pk)
    import_job_start(job=job)
    return redirect(reverse("feedback:import-detail", kwargs={"pk": job.pk}) + "?queued=1")


# --- manual entry ------------------------------------------------------------------------


def _programs_for_entry(request: HttpRequest) -> QuerySet[Program]:
    return department_scope(Program.objects.filter(is_active=True), user=request.user).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def manual_entry_view(request: HttpRequest) -> HttpResponse:
    """An employee logs feedback heard from a customer; it is attributed to them."""
    programs = _programs_for_entry(request)
    form = ManualResponseForm(_posted(request), programs=programs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            response = manual_response_create(
                program=data["program"],
                by=request.user,
                comment=data["comment"],
                scores={m: data.get(m) for m in ("nps", "csat", "ces")},
                customer_email=data["customer_email"],
                customer_name=data["customer_name"],
                customer_external_id=data["customer_external_id"],
                touchpoint=data["touchpoint"],
                channel=data["channel"],
            )
        except PayloadError as exc:
            for field, messages_ in exc.errors.items():
                name = field.split(".")[-1]
                for message in messages_:
                    form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(request, "Feedback logged. Thank you for passing it on.")
            return redirect("feedback:response-detail", pk=response.pk)
    return render(request, "feedback/manual_entry.html", {"form": form, "has_programs": programs.exists()})


# --- responses ---------------------------------------------------------------------------


@login_required
def response_list_view(request: HttpRequest) -> HttpResponse:
    """Responses in the user's departments with filters, full-text search and pagination."""
    ids = department_ids_for(user=request.user)
    programs = department_scope(Program.objects.only("slug", "name"), user=request.user).order_by("name")
    sources = department_scope(
        Source.objects.only("slug", "name", "program_id"), user=request.user, field="program__department"
    ).order_by("name")
    departments = Department.objects.only("slug", "name").order_by("name")
    if ids is not None:
        departments = departments.filter(id__in=ids)
    form = ResponseFilterForm(
        request.GET or None, programs=programs, sources=sources, departments=departments
    )
    filters: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    qs = selectors.response_list(
        user=request.user,
        program=filters.get("program"),
        source=filters.get("source"),
        band=filters.get("band"),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        department=filters.get("department"),
        status=filters.get("status"),
        q=filters.get("q"),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "feedback/response_list.html"
    if request.htmx and request.htmx.target == "response-table":
        template += "#response-table"
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "responses": page.object_list,
            "query": query.urlencode(),
            "filtered": bool(filters),
        },
    )


@login_required
def response_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    response = selectors.response_get(user=request.user, response_id=pk)
    if response is None:
        raise Http404("No such response in your scope")
    answers = {k: v for k, v in (response.answers or {}).items() if k != "_fetch"}
    ids = department_ids_for(user=request.user)
    shows_customer = response.customer is not None and (ids is None or response.department_id in ids)
    return render(
        request,
        "feedback/response_detail.html",
        {"response": response, "answers": answers, "shows_customer": shows_customer},
    )
