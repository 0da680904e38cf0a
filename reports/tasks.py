"""Celery tasks of the reports area: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .models import Report


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def report_generate_task(report_id: int) -> None:
    from .services import report_generate

    report = Report.objects.filter(pk=report_id, status=Report.Status.PENDING).first()
    if report is None:  # done already, taken by another worker, or deleted
        return
    report_generate(report=report)


@shared_task(ignore_result=True)
def report_sweep_task() -> int:
    from .services import report_sweep

    return report_sweep()


@shared_task(ignore_result=True, acks_late=True)
def report_monthly_send_task() -> bool:
    from .services import report_monthly_send

    return report_monthly_send()


@shared_task(ignore_result=True)
def measure_actuals_compute_task() -> dict[str, int]:
    from .measures import measure_actuals_compute_all

    return measure_actuals_compute_all()


@shared_task(ignore_result=True)
def rollup_fold_task() -> dict[str, int]:
    from .rollups import rollup_fold

    return rollup_fold()
