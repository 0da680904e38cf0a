"""Thin Celery wrappers around charter services (ids in, a service call)."""

from __future__ import annotations

from celery import shared_task

from .inbox import inbox_email_retry_due, inbox_email_send_many


@shared_task(ignore_result=True)
def inbox_email_send_task(item_ids: list[int]) -> None:
    inbox_email_send_many(item_ids=item_ids)


@shared_task(ignore_result=True)
def inbox_email_retry_task() -> None:
    inbox_email_retry_due()
