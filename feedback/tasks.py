"""Celery tasks: thin wrappers that take ids and call a service. Safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .customer_messages import DeliveryFailed
from .outbox import outbox_prune, outbox_sweep


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def response_process_task(
    self: Any, response_id: int, event_id: int | None = None, event_ids: list[int] | None = None
) -> None:
    """A wake-up for one event, or for the group the relay published together (``event_ids``,
    ``event_id`` the first), so light load stays fast; on a worker it drains a batch of pending
    events in one transaction. Inline (eager, in a request) it does only its own; both write
    through the same code (``processing._batch_write``)."""
    from .processing import response_process, response_process_batch

    if event_id is None or self.request.is_eager:
        response_process(response_id=response_id, event_id=event_id)
    else:
        response_process_batch(event_id=event_id, event_ids=event_ids)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def response_fetch_task(response_id: int, event_id: int | None = None) -> None:
    from .intake import response_fetch_details

    response_fetch_details(response_id=response_id, event_id=event_id)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def import_run_task(job_id: int, event_id: int | None = None) -> None:
    from .imports import import_job_run

    import_job_run(job_id=job_id, event_id=event_id)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def import_events_publish_task(event_ids: list[int]) -> None:
    """One message per imported batch: publish its RESPONSE_PROCESS events from a worker."""
    from .imports import import_events_publish

    import_events_publish(event_ids=event_ids)


@shared_task(ignore_result=True)
def outbox_sweep_task() -> int:
    return outbox_sweep()


@shared_task(ignore_result=True)
def outbox_prune_task() -> int:
    return outbox_prune()


@shared_task(ignore_result=True)
def refused_delivery_prune_task() -> int:
    """Refused deliveries are kept for ``CXGOV_REFUSED_KEEP_DAYS`` (anyone can send one)."""
    from .refusals import refused_delivery_prune

    return refused_delivery_prune()


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def notification_send_task(notification_id: int) -> None:
    """Send one notification; a failure is recorded on the row and retried by beat."""
    from .notifications import notification_send

    notification_send(notification_id=notification_id)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def notification_send_many_task(notification_ids: list[int]) -> None:
    """Send the notifications the relay published together; each is recorded on its row."""
    from .notifications import notification_send_many

    notification_send_many(notification_ids=notification_ids)


@shared_task(ignore_result=True)
def notification_retry_due_task() -> int:
    from .notifications import notification_retry_due

    return notification_retry_due()


@shared_task(ignore_result=True)
def notification_digest_send_task() -> int:
    from .notifications import notification_digest_send

    return notification_digest_send()


@shared_task(ignore_result=True)
def escalation_run_task() -> int:
    """Beat, every 15 minutes: overdue actions go to the ambassador, then the CX leaders."""
    from .escalation import escalation_run

    return escalation_run()


@shared_task(ignore_result=True)
def verification_run_task() -> int:
    """Beat, daily: compare before/after the fix of systemic actions due for verification."""
    from .verification import verification_run

    return verification_run()


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DeliveryFailed,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=5,
)
def customer_delivery_send_task(self: Any, delivery_id: int) -> None:
    """One "we fixed it" e-mail to one customer. A refused or unreachable mail server is
    recorded on the delivery and retried with back-off (30 s, 1 min, 2 min ... up to an hour);
    the last attempt records the delivery as failed, with the reason, instead of raising."""
    from .customer_messages import customer_delivery_send

    customer_delivery_send(delivery_id=delivery_id, final=self.request.retries >= self.max_retries)


@shared_task(ignore_result=True)
def customer_deliveries_sweep_task() -> int:
    """Beat: re-publish customer e-mails the relay lost (queued, never tried)."""
    from .customer_messages import customer_deliveries_sweep

    return customer_deliveries_sweep()


@shared_task(ignore_result=True)
def notification_import_digest_send_task() -> int:
    """One digest per owner for the new actions of an import (instead of one e-mail each)."""
    from .notifications import notification_import_digest_send

    return notification_import_digest_send()
