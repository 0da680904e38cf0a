"""From a received response to an owned action: the heart of the pipeline.

``response_process`` runs in a Celery task (inline in the embedded default) for every new or
updated response. In one transaction, with the response row locked:

1. analysis: score bands (if intake did not), sentiment (VADER), themes (keywords with
   stemming), touchpoint and department from the hints;
2. the actionability policy decides whether it is an insight;
3. routing rules choose department, one owner, priority and loops; SLA policies the due dates;
4. an ``Insight`` and, for the inner loop, exactly one ``ActionItem`` linked to it; for the
   outer loop the insight clusters into its theme's systemic action;
5. the response is marked processed and its outbox event too; the owner is notified after commit.

Idempotent: a processed response is left alone; a response has one insight (OneToOne) and
one inner action (partial unique index); concurrent runs wait on the row lock and then find
the work done. A crash rolls everything back and the outbox sweeper publishes it again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from charter.models import Department, Touchpoint

from .models import (
    DEFAULT_SCALES,
    ActionabilityPolicy,
    ActionInsight,
    ActionItem,
    Insight,
    Loop,
    OutboxEvent,
    Response,
    RoutingRule,
    Theme,
)
from .notifications import action_url, notification_create
from .outbox import outbox_mark_processed
from .outer_loop import insight_cluster
from .routing import response_route
from .scoring import band_for
from .sentiment import sentiment_score
from .sla import sla_due_dates
from .themes import themes_match

log = logging.getLogger(__name__)

INNER_LOOPS = (RoutingRule.Loops.INNER, RoutingRule.Loops.BOTH)
OUTER_LOOPS = (RoutingRule.Loops.OUTER, RoutingRule.Loops.BOTH)


def _scale(response: Response, metric: str) -> tuple[int, int]:
    value = (response.scales or {}).get(metric) if isinstance(response.scales, dict) else None
    if value and len(value) == 2:
        return int(value[0]), int(value[1])
    return response.source.scale_for(metric) if response.source_id else DEFAULT_SCALES[metric]


def actionability_reason(*, response: Response, policy: ActionabilityPolicy) -> str:
    """Why the policy finds ``response`` actionable, or "" when it does not.

    Thresholds are on the default scales (NPS 0–10, CSAT 1–5, CES 1–7). A score given on
    another scale is judged by its band (detractor, low, high effort) instead of being
    compared with a number that means something else there.
    """
    reasons: list[str] = []
    if response.nps is not None:
        if _scale(response, "nps") == DEFAULT_SCALES["nps"]:
            if response.nps <= policy.nps_max:
                reasons.append(f"NPS {response.nps} (≤ {policy.nps_max})")
        elif response.nps_band == "detractor":
            reasons.append(f"NPS {response.nps} is a detractor on its scale")
    if response.csat is not None:
        if _scale(response, "csat") == DEFAULT_SCALES["csat"]:
            if response.csat <= policy.csat_max:
                reasons.append(f"CSAT {response.csat} (≤ {policy.csat_max})")
        elif response.csat_band == "low":
            reasons.append(f"CSAT {response.csat} is low on its scale")
    if response.ces is not None:
        if _scale(response, "ces") == DEFAULT_SCALES["ces"]:
            if response.ces >= policy.ces_min:
                reasons.append(f"CES {response.ces} (≥ {policy.ces_min})")
        elif response.ces_band == "high_effort":
            reasons.append(f"CES {response.ces} is high effort on its scale")
    if (
        response.comment.strip()
        and response.sentiment is not None
        and response.sentiment <= policy.sentiment_max
    ):
        reasons.append(f"negative comment (sentiment {response.sentiment:+.2f})")
    return "; ".join(reasons)[:200]


def response_analyse(*, response: Response) -> list[Theme]:
    """Fill the derived fields of ``response`` (deterministic: same input, same output)."""
    for metric in ("nps", "csat", "ces"):
        value = getattr(response, metric)
        if value is not None and not getattr(response, f"{metric}_band"):
            setattr(
                response,
                f"{metric}_band",
                band_for(metric=metric, value=value, scale=_scale(response, metric)),
            )
    response.sentiment = sentiment_score(response.comment)
    themes = themes_match(text=response.comment)
    if response.touchpoint_id is None and response.touchpoint_label.strip():
        label = response.touchpoint_label.strip()
        response.touchpoint = Touchpoint.objects.filter(Q(slug__iexact=label) | Q(name__iexact=label)).first()
    if response.department_id is None:
        hint = response.department_hint.strip()
        department = (
            Department.objects.filter(Q(slug__iexact=hint) | Q(name__iexact=hint)).first() if hint else None
        )
        if department is None and response.touchpoint_id:
            department = response.touchpoint.department
        response.department = department or response.program.department
    return themes


def _action_title(response: Response) -> str:
    who = ""
    if response.customer_id and response.customer is not None:
        who = response.customer.name or response.customer.email or response.customer.external_id
    scores = ", ".join(f"{m.upper()} {v}" for m, v in response.scores.items())
    title = f"Follow up {who or 'the customer'}"
    if scores:
        title += f" ({scores})"
    return f"{title} — {response.program.name}"[:255]


def insight_create(*, response: Response, themes: list[Theme], reason: str) -> Insight:
    """Route an actionable response and create its insight and inner-loop action."""
    decision = response_route(response=response, theme_ids=[t.id for t in themes])
    loop = Loop.INNER if decision.loops in INNER_LOOPS else Loop.OUTER
    start = response.received_at or timezone.now()  # the promise starts when we heard it
    first_contact_due, due = sla_due_dates(priority=decision.priority, loop=loop, start=start)
    insight = Insight(
        response=response,
        department=decision.department,
        owner=decision.owner,
        due_at=due,
        priority=decision.priority,
        routing_rule=decision.rule,
        reason=reason,
        routing_note=decision.note,
        loops=decision.loops,
    )
    insight.full_clean(exclude=["response", "systemic_action"])
    insight.save()
    if themes:
        insight.themes.set(themes)
    if decision.loops in INNER_LOOPS:
        action = ActionItem(
            loop=Loop.INNER,
            title=_action_title(response),
            department=decision.department,
            owner=decision.owner,
            priority=decision.priority,
            due_at=due,
            first_contact_due_at=first_contact_due,
            response=response,
            theme=themes[0] if themes else None,
        )
        action.full_clean()
        action.save()
        ActionInsight.objects.create(action=action, insight=insight)
        notification_create(
            user=decision.owner,
            subject=f"New action: {action.title}",
            body=(
                f"{reason}.\n\n{response.comment[:500]}\n\nFirst contact by "
                f"{timezone.localtime(first_contact_due):%a %d %b %H:%M}, resolve by "
                f"{timezone.localtime(due):%a %d %b %Y}."
            ),
            url=action_url(action.id),
            dedupe_key=f"action-created:{action.id}",
        )
    if decision.loops in OUTER_LOOPS and themes:
        insight_cluster(insight=insight, themes=themes)
    return insight


def response_process(*, response_id: int, event_id: int | None = None) -> Response | None:
    """Process one response; safe to run twice or concurrently. Returns it, or None if gone."""
    try:
        return _response_process(response_id=response_id, event_id=event_id)
    except Exception as exc:
        _record_failure(response_id=response_id, event_id=event_id, error=exc)
        raise


@transaction.atomic
def _response_process(*, response_id: int, event_id: int | None) -> Response | None:
    response = (
        Response.objects.select_for_update(of=("self",))
        .select_related("source", "program__department", "customer")
        .filter(id=response_id)
        .first()
    )
    if response is None:  # deleted (e.g. erased) before we got to it
        outbox_mark_processed(event_id=event_id)
        return None
    if response.status in (Response.Status.PROCESSED, Response.Status.AWAITING_DETAILS):
        # Done already, or the fetch task will publish a new event once details arrive.
        outbox_mark_processed(event_id=event_id)
        return response
    themes = response_analyse(response=response)
    response.status = Response.Status.PROCESSED
    response.processed_at = response.processed_at or timezone.now()
    response.save(
        update_fields=[
            "nps_band",
            "csat_band",
            "ces_band",
            "sentiment",
            "touchpoint",
            "department",
            "status",
            "processed_at",
            "updated_at",
        ]
    )
    response.themes.set(themes)
    if not Insight.objects.filter(response=response).exists():
        reason = actionability_reason(response=response, policy=ActionabilityPolicy.current())
        if reason:
            insight_create(response=response, themes=themes, reason=reason)
    outbox_mark_processed(event_id=event_id)
    return response


def _record_failure(*, response_id: int, event_id: int | None, error: Exception) -> None:
    """Leave a trace for the pipeline-health page; the sweeper publishes the event again."""
    message = f"{error.__class__.__name__}: {error}"[:2000]
    log.exception("response processing failed", extra={"response_id": response_id, "event_id": event_id})
    try:
        with transaction.atomic():
            Response.objects.filter(id=response_id, status=Response.Status.RECEIVED).update(
                status=Response.Status.FAILED
            )
            if event_id is not None:
                OutboxEvent.objects.filter(id=event_id).update(last_error=message)
    except Exception:  # the database itself may be what failed
        log.exception("could not record processing failure", extra={"response_id": response_id})


def response_reprocess(*, response: Response) -> Any:
    """Queue a failed response again (through the outbox, so it is never lost)."""
    from .outbox import outbox_enqueue

    with transaction.atomic():
        Response.objects.filter(id=response.id, status=Response.Status.FAILED).update(
            status=Response.Status.RECEIVED
        )
        return outbox_enqueue(kind=OutboxEvent.Kind.RESPONSE_PROCESS, object_id=response.id)
