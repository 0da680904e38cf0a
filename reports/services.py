"""Write use-cases of the reports area: ROI assumptions, report requests and generation,
and the monthly delivery to executives.

PDF generation never runs in a request: ``report_request`` writes a pending ``Report`` row
and publishes it to Celery after commit from a background thread (inline when tasks are
eager); ``report_sweep`` (beat) publishes again reports left pending, so a broker outage
only delays a report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import close_old_connections, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from charter.models import Department, User
from charter.roles import Role
from charter.selectors import department_ids_for
from missions.services import (
    finance_figure_return,
    finance_validation_record,
    validation_answer_notify,
    validation_check_note,
)

from . import charts, report_layout, selectors
from .models import Report, ReportDelivery, RoiAssumption

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)


# --- ROI assumptions --------------------------------------------------------------------


def roi_can_edit(user: User) -> bool:
    return user.is_superuser or user.has_role(Role.FINANCE, Role.CX_LEADER)


def roi_can_validate(user: User) -> bool:
    return user.is_superuser or user.has_role(Role.FINANCE)


@transaction.atomic
def roi_assumption_save(*, assumption: RoiAssumption | None, data: dict[str, Any], by: User) -> RoiAssumption:
    """Create or edit a segment's assumptions. Any change to what a validated figure means
    (a money figure, its currency, the segment or whose customers it covers:
    ``RoiAssumption.MEANING_FIELDS``) clears finance's validation: what is shown as
    validated is exactly what finance looked at. A save answers finance's returned
    question: the segment goes back to the validation queue."""
    if not roi_can_edit(by):
        raise PermissionDenied("Only finance partners and CX leaders edit ROI assumptions.")
    data = {k: v for k, v in data.items() if k not in RoiAssumption.VALIDATION_STATE_FIELDS}
    changed: list[str] = []
    if assumption is None:
        assumption = RoiAssumption(owner=data.pop("owner", None) or by)
    else:
        assumption = RoiAssumption.objects.select_for_update().get(pk=assumption.pk)
    stored_validated = assumption.is_validated
    stored_returned = assumption.is_returned
    asked_by = assumption.returned_by
    before = assumption.meaning() if assumption.pk else {}
    for name, value in data.items():
        setattr(assumption, name, value)
    if assumption.pk:
        try:
            after = assumption.meaning()
        except ValidationError as exc:  # a value of the wrong type: full_clean names the field
            raise ValidationError({"__all__": exc.messages}) from exc
        changed = [name for name in RoiAssumption.MEANING_FIELDS if after[name] != before[name]]
    if changed and stored_validated:
        assumption.validation_clear()
        assumption._change_reason = ("Validation cleared: " + ", ".join(changed) + " changed")[:100]  # type: ignore[attr-defined]
    if stored_returned:
        assumption.return_clear()
        validation_answer_notify(
            title=assumption.segment,
            kind_label="the ROI assumptions",
            finance=asked_by,
            url=reverse("reports:validation-queue") + f"#assumption-{assumption.pk}",
            by=by,
        )
    assumption.updated_by = by
    assumption._history_user = by  # type: ignore[attr-defined]
    assumption.full_clean()
    assumption.save()
    return assumption


@transaction.atomic
def roi_assumption_validate(
    *, assumption: RoiAssumption, by: User, note: str, evidence_url: str = ""
) -> RoiAssumption:
    """A finance partner vouches for the figures as they are now, saying what they checked."""
    if not roi_can_validate(by):
        raise PermissionDenied("Only a finance partner validates ROI assumptions.")
    note, evidence_url = validation_check_note(note=note, evidence_url=evidence_url)
    assumption = RoiAssumption.objects.select_for_update().get(pk=assumption.pk)
    return finance_validation_record(figure=assumption, by=by, note=note, evidence_url=evidence_url)


def roi_assumption_return(*, assumption: RoiAssumption, by: User, question: str) -> RoiAssumption:
    """Finance sends the assumptions back with a question the CX leader sees at home."""
    if not roi_can_validate(by):
        raise PermissionDenied("Only a finance partner returns ROI assumptions with a question.")
    return finance_figure_return(
        figure=assumption,
        by=by,
        question=question,
        title=assumption.segment,
        kind_label="the ROI assumptions",
        url=reverse("reports:roi-assumption-edit", kwargs={"pk": assumption.pk}),
    )


# --- report requests --------------------------------------------------------------------


def _department_key(ids: Iterable[int] | None) -> str:
    return "" if ids is None else ",".join(str(i) for i in sorted(set(ids)))


def report_fingerprint(*, period: selectors.Period, department_ids: set[int] | None) -> str:
    """Parameters plus the state of the data behind them: same value = same PDF."""
    state = selectors.data_state(department_ids=department_ids, period=period)
    payload = {
        "v": 1,
        "period": [period.start.isoformat(), period.end.isoformat()],
        "departments": _department_key(department_ids),
        "state": state,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _resolve_departments(*, user: User | None, department_ids: Iterable[int] | None) -> set[int] | None:
    """``None`` = organisation-wide. Users who do not see every department get theirs."""
    requested = {int(i) for i in department_ids} if department_ids else None
    if user is None:
        return requested
    allowed = department_ids_for(user=user)
    if allowed is None:
        if requested is not None and Department.objects.filter(id__in=requested).count() != len(requested):
            raise ValidationError({"departments": "Choose departments from the list."})
        return requested
    if not allowed:
        raise ValidationError({"departments": "You are not a member of any department."})
    if requested is None:
        return set(allowed)
    if not requested <= allowed:
        raise ValidationError({"departments": "Choose departments from the list."})
    return requested


@transaction.atomic
def report_request(
    *, user: User | None, period_start: date, period_end: date, department_ids: Iterable[int] | None = None
) -> tuple[Report, bool]:
    """Ask for a report. Returns ``(report, created)``: the last report with the same
    parameters is reused while the data behind it has not changed."""
    if period_start > period_end:
        raise ValidationError({"period_end": "The period must end on or after its start."})
    if period_end - period_start > timedelta(days=3 * 366):
        raise ValidationError({"period_start": "Choose a period of at most three years."})
    ids = _resolve_departments(user=user, department_ids=department_ids)
    period = selectors.Period(period_start, period_end)
    fingerprint = report_fingerprint(period=period, department_ids=ids)
    existing = (
        Report.objects.filter(fingerprint=fingerprint)
        .exclude(status=Report.Status.FAILED)
        .order_by("-created_at")
        .first()
    )
    if existing is not None:
        return existing, False
    report = Report(
        period_start=period_start,
        period_end=period_end,
        org_wide=ids is None,
        department_key=_department_key(ids),
        fingerprint=fingerprint,
        requested_by=user,
    )
    report.full_clean()
    report.save()
    if ids:
        report.departments.set(ids)
    transaction.on_commit(lambda: report_publish(report_id=report.id))
    return report, True


def _publish_now(report_id: int) -> None:
    from .tasks import report_generate_task

    Report.objects.filter(id=report_id).update(published_at=timezone.now(), attempts=F("attempts") + 1)
    report_generate_task.apply_async(args=[report_id], retry=False)


def report_publish(*, report_id: int) -> None:
    """Hand a report to Celery: inline when tasks are eager, else from a short-lived thread so
    a slow or dead broker never holds the request (the sweeper retries)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            _publish_now(report_id)
        except Exception:
            log.exception("report generation failed inline", extra={"report_id": report_id})
        return

    def run() -> None:
        try:
            _publish_now(report_id)
        except Exception as exc:
            log.warning("report publish failed", extra={"report_id": report_id, "error": str(exc)})
        finally:
            close_old_connections()

    threading.Thread(target=run, name=f"cxgov-report-{report_id}", daemon=True).start()


def report_sweep(*, now: datetime | None = None) -> int:
    """Publish again reports left pending (broker was down) or running on a dead worker."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    stale = Report.objects.filter(created_at__lt=cutoff).filter(
        status=Report.Status.PENDING, published_at__lt=cutoff
    ) | Report.objects.filter(status=Report.Status.PENDING, published_at__isnull=True, created_at__lt=cutoff)
    stuck = Report.objects.filter(status=Report.Status.RUNNING, started_at__lt=now - 4 * STALE_AFTER)
    count = 0
    for report in list(stale.distinct()[:100]) + list(stuck[:100]):
        if report.status == Report.Status.RUNNING:
            Report.objects.filter(pk=report.pk, status=Report.Status.RUNNING).update(
                status=Report.Status.PENDING
            )
        try:
            _publish_now(report.pk)
            count += 1
        except Exception as exc:
            log.warning("report sweep could not publish", extra={"report_id": report.pk, "error": str(exc)})
            break
    return count


# --- generation -------------------------------------------------------------------------


def _progress(report: Report, percent: int, step: str) -> None:
    """Written outside any transaction so the page's polling sees it move."""
    Report.objects.filter(pk=report.pk).update(progress=percent, step=step)


def report_context(
    *, period: selectors.Period, department_ids: set[int] | None, report: Report | None = None
) -> dict[str, Any]:
    """Everything the PDF shows, in a fixed number of queries (``selectors.report_data``):
    the organisation's figures and a section per department, rolled up from one GROUP BY
    month × department × program. They equal the metrics API's and the dashboard's."""
    data = selectors.report_data(department_ids=department_ids, period=period)
    trends = data["trends"]
    return {
        **data,
        **report_layout.layout(data),
        "report": report,
        "period": period,
        "period_label": f"{period.start:%-d %b %Y} – {period.end:%-d %b %Y}",
        "org_wide": department_ids is None,
        # Wide and low on the page: three charts and a table fit one A4 page, labels stay 9 pt.
        "charts": {m: charts.line_chart(trends[m]["series"], metric=m, height=150) for m in trends},
        "moments": selectors.featured_moments(department_ids=department_ids),
        "maturity": selectors.maturity_trend(),
        "generated_at": timezone.now(),
    }


def report_html(*, context: dict[str, Any]) -> str:
    return render_to_string("reports/pdf/report.html", context)


def report_generate(*, report: Report) -> Report:
    """Render the PDF of ``report`` and store it. Safe to run twice (a finished report is left alone)."""
    from cxgov.pdf import pdf_warm_up_in_background, render_pdf

    claimed = Report.objects.filter(pk=report.pk, status=Report.Status.PENDING).update(
        status=Report.Status.RUNNING, started_at=timezone.now(), progress=5, step="Collecting figures"
    )
    if not claimed:
        return Report.objects.get(pk=report.pk)
    pdf_warm_up_in_background()  # a worker's first PDF: WeasyPrint loads its fonts meanwhile
    try:
        ids = None if report.org_wide else {int(i) for i in report.department_key.split(",") if i}
        period = selectors.Period(report.period_start, report.period_end)
        context = report_context(period=period, department_ids=ids, report=report)
        _progress(report, 40, "Laying out pages")
        html = report_html(context=context)
        _progress(report, 60, "Rendering the PDF")
        pdf = render_pdf(html=html)
        _progress(report, 90, "Saving")
        with transaction.atomic():
            fresh = Report.objects.select_for_update().get(pk=report.pk)
            fresh.file.save(
                f"cx-report-{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}-{report.pk}.pdf",
                ContentFile(pdf),
                save=False,
            )
            fresh.status = Report.Status.DONE
            fresh.progress = 100
            fresh.step = "Ready"
            fresh.finished_at = timezone.now()
            fresh.save(update_fields=["file", "status", "progress", "step", "finished_at"])
        return fresh
    except Exception as exc:
        log.exception("report generation failed", extra={"report_id": report.pk})
        Report.objects.filter(pk=report.pk).update(
            status=Report.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now(), step="Failed"
        )
        return Report.objects.get(pk=report.pk)


# --- monthly delivery -------------------------------------------------------------------


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def report_monthly_send(*, today: date | None = None) -> bool:
    """E-mail last month's organisation-wide report to the executives, once per month.

    The ``ReportDelivery`` row of the month is locked while sending; a second run (or a
    concurrent one) finds it sent and does nothing. Returns whether it sent.
    """
    month = previous_month(today or timezone.now().date())
    ReportDelivery.objects.get_or_create(month=month)
    with transaction.atomic():
        delivery = ReportDelivery.objects.select_for_update().get(month=month)
        if delivery.sent_at is not None:
            return False
        period = selectors.Period.month(month)
        report, _ = report_request(user=None, period_start=period.start, period_end=period.end)
        if report.status != Report.Status.DONE:
            report = report_generate(report=report)
        if report.status != Report.Status.DONE or not report.file:
            raise RuntimeError(f"monthly report {report.pk} could not be generated: {report.error}")
        executives = list(
            User.objects.filter(groups__name=Role.EXECUTIVE.label, is_active=True)
            .exclude(email="")
            .order_by("id")
            .values_list("email", flat=True)
            .distinct()
        )
        if executives:
            message = EmailMessage(
                subject=f"CX report for {month:%B %Y}",
                body=(
                    f"Attached: the CX governance and ROI report for {month:%B %Y}.\n"
                    "Figures marked 'unvalidated' still await a finance partner's validation."
                ),
                to=executives,
            )
            report.file.open("rb")
            try:
                message.attach(f"cx-report-{month:%Y-%m}.pdf", report.file.read(), "application/pdf")
            finally:
                report.file.close()
            message.send(fail_silently=False)
        delivery.report = report
        delivery.recipients = executives
        delivery.sent_at = timezone.now()
        delivery.save(update_fields=["report", "recipients", "sent_at"])
        return True
