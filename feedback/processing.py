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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from charter.models import Department, Touchpoint

from .locking import LockBusy, lock_batch
from .models import (
    DEFAULT_SCALES,
    ActionabilityPolicy,
    ActionInsight,
    ActionItem,
    Insight,
    Loop,
    Notification,
    OutboxEvent,
    PipelineConfigStamp,
    Response,
    RoutingRule,
    Theme,
)
from .notifications import IMPORTED_ACTION_KEY, action_url, notification_bulk_create, notification_rows
from .outbox import outbox_mark_processed
from .outer_loop import systemic_action_for, systemic_actions_lock, systemic_actions_open
from .pipeline_config import PipelineConfig, pipeline_config, pipeline_config_cached, pipeline_config_load
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


def response_analyse(
    *, response: Response, config: PipelineConfig | None = None, themes: list[Theme] | None = None
) -> list[Theme]:
    """Fill the derived fields of ``response`` (deterministic: same input, same output).

    ``config``: the pipeline's snapshot (departments and touchpoints are looked up in it
    instead of the database); ``themes``: already matched (the processing query does it).
    """
    for metric in ("nps", "csat", "ces"):
        value = getattr(response, metric)
        if value is not None and not getattr(response, f"{metric}_band"):
            setattr(
                response,
                f"{metric}_band",
                band_for(metric=metric, value=value, scale=_scale(response, metric)),
            )
    response.sentiment = sentiment_score(response.comment)
    if themes is None:
        themes = themes_match(text=response.comment, themes=config.themes if config else None)
    if response.touchpoint_id is None and response.touchpoint_label.strip():
        label = response.touchpoint_label.strip()
        if config is None:
            response.touchpoint = Touchpoint.objects.filter(
                Q(slug__iexact=label) | Q(name__iexact=label)
            ).first()
        else:
            response.touchpoint = _first_named(config.touchpoints, label)
    if response.department_id is None:
        hint = response.department_hint.strip()
        if not hint:
            department = None
        elif config is None:
            department = Department.objects.filter(Q(slug__iexact=hint) | Q(name__iexact=hint)).first()
        else:
            department = _first_named(config.departments, hint)
        if department is None and response.touchpoint_id:
            department = response.touchpoint.department
        response.department = department or response.program.department
    return themes


def _first_named[T: (Department, Touchpoint)](rows: Iterable[T], label: str) -> T | None:
    """``filter(Q(slug__iexact=label) | Q(name__iexact=label)).first()`` on cached rows."""
    wanted = label.upper()
    return next((r for r in rows if r.slug.upper() == wanted or r.name.upper() == wanted), None)


def _action_title(response: Response) -> str:
    who = ""
    if response.customer_id and response.customer is not None:
        who = response.customer.name or response.customer.email or response.customer.external_id
    scores = ", ".join(f"{m.upper()} {v}" for m, v in response.scores.items())
    title = f"Follow up {who or 'the customer'}"
    if scores:
        title += f" ({scores})"
    return f"{title} — {response.program.name}"[:255]


_INSIGHT_FKS = ["response", "department", "owner", "routing_rule", "systemic_action"]
_ACTION_FKS = ["department", "owner", "response", "theme", "success_measure"]


@dataclass
class InsightPlan:
    """What routing decided for one actionable response, as unsaved rows: its insight, the
    inner-loop action (if the rule asks for the inner loop) and whether it clusters."""

    response: Response
    insight: Insight
    themes: list[Theme]
    reason: str
    action: ActionItem | None
    clusters: bool


def insight_plan(
    *, response: Response, themes: list[Theme], reason: str, config: PipelineConfig | None = None
) -> InsightPlan:
    """Route an actionable response and build (not save) its insight and inner-loop action.

    Fields are validated (``clean_fields``) but foreign keys are not re-read: they point at
    rows this transaction just read or wrote, and the database's constraints (foreign keys,
    one insight per response, one inner action per response) refuse anything else.
    """
    if config is None:
        config = pipeline_config_load(stamp=None)
    decision = response_route(response=response, theme_ids=[t.id for t in themes], rules=config.rules)
    loop = Loop.INNER if decision.loops in INNER_LOOPS else Loop.OUTER
    start = response.received_at or timezone.now()  # the promise starts when we heard it
    first_contact_due, due = sla_due_dates(
        priority=decision.priority, loop=loop, start=start, policies=config.sla, calendars=config.calendars
    )
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
    insight.clean_fields(exclude=_INSIGHT_FKS)
    action = None
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
        action.clean_fields(exclude=_ACTION_FKS)
    return InsightPlan(
        response=response,
        insight=insight,
        themes=themes,
        reason=reason,
        action=action,
        clusters=bool(decision.loops in OUTER_LOOPS and themes),
    )


#: The kinds that take CSV files only (``feedback.imports.CSV_KINDS``): their responses are imported.
CSV_SOURCE_KINDS = frozenset({"csv", "qualtrics_csv"})


def _action_notification(plan: InsightPlan, action: ActionItem) -> list[Notification]:
    """The owner's "new action" notification rows (``action`` is saved: its id is in them).

    A response from a CSV import (only CSV sources take files) is bulk work: its rows are held
    and the owner gets one digest for the import (``notification_import_digest_send``)."""
    response = plan.response
    imported = response.source.kind in CSV_SOURCE_KINDS
    return notification_rows(
        user=action.owner,
        bulk=imported,
        subject=f"New action: {action.title}",
        body=(
            f"{plan.reason}.\n\n{response.comment[:500]}\n\nFirst contact by "
            f"{timezone.localtime(action.first_contact_due_at):%a %d %b %H:%M}, resolve by "
            f"{timezone.localtime(action.due_at):%a %d %b %Y}."
        ),
        url=action_url(action.id),
        dedupe_key=f"{IMPORTED_ACTION_KEY if imported else 'action-created:'}{action.id}",
    )


def response_process(*, response_id: int, event_id: int | None = None) -> Response | None:
    """Process one response; safe to run twice or concurrently. Returns it, or None if gone."""
    try:
        return _response_process(response_id=response_id, event_id=event_id)
    except Exception as exc:
        _record_failure(response_id=response_id, event_id=event_id, error=exc)
        raise


def _locked_query(config: PipelineConfig | None) -> Any:
    qs = (
        Response.objects.select_for_update(of=("self",))
        .select_related("source", "program__department", "customer")
        .annotate(
            _config_stamp=Subquery(PipelineConfigStamp.objects.filter(pk=1).values("stamp")[:1]),
            _has_insight=Exists(Insight.objects.filter(response=OuterRef("pk"))),
        )
    )
    if connection.vendor == "postgresql":
        qs = qs.annotate(
            _theme_ids=RawSQL(
                "ARRAY(SELECT rt.theme_id FROM feedback_response_themes rt "
                'WHERE rt.response_id = "feedback_response"."id")',
                [],
            )
        )
        if config is not None:
            sql, params = _matched_themes_sql(config)
            qs = qs.annotate(_matched_ids=RawSQL(sql, params))  # noqa: S611  # nosec B611  (placeholders only)
    return qs


def _responses_locked(*, response_ids: list[int], config: PipelineConfig | None) -> dict[int, Response]:
    """Lock the responses (in id order: every batch locks its rows in the same order) and read,
    in the same statement, what processing needs to know: the configuration stamp, whether
    each has an insight, its current theme links and (on PostgreSQL, with a configuration at
    hand) which themes its comment matches."""
    found = _locked_query(config).filter(id__in=sorted(set(response_ids))).order_by("id")
    return {r.id: r for r in found}


def _matched_themes_sql(config: PipelineConfig) -> tuple[str, list[object]]:
    """``themes_match_postgres`` as a sub-select of the response's own comment."""
    if not config.theme_phrases:
        return "ARRAY[]::bigint[]", []
    # The queries are constants (folded once when the statement is planned) and the comment's
    # vector is an InitPlan (once per response): written as ``to_tsvector(comment) @@
    # phraseto_tsquery(k.phrase)`` both ran once per phrase and response, 13× slower.
    values = ", ".join(["(%s::bigint, phraseto_tsquery('english', %s::text))"] * len(config.theme_phrases))
    params: list[object] = [x for pair in config.theme_phrases for x in pair]
    sql = (
        f"ARRAY(SELECT DISTINCT k.theme_id FROM (VALUES {values}) AS k(theme_id, query) "  # noqa: S608  # nosec B608
        'WHERE (SELECT to_tsvector(\'english\', "feedback_response"."comment")) @@ k.query)'
    )
    return sql, params


@transaction.atomic
def _response_process(*, response_id: int, event_id: int | None) -> Response | None:
    response = _response_work(response_id=response_id)
    outbox_mark_processed(event_id=event_id)
    return response


_RESPONSE_FIELDS = [
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


def _response_analysed(
    *, response: Response | None, cached: PipelineConfig | None
) -> tuple[Response, list[Theme], PipelineConfig] | Response | None:
    """Analyse the response, locked and read with the configuration ``cached`` (in memory;
    nothing written): ``(response, themes, config)``, or the response alone when there is
    nothing to do, or None when it is gone."""
    if response is None:  # deleted (e.g. erased) before we got to it
        return None
    if response.status in (Response.Status.PROCESSED, Response.Status.AWAITING_DETAILS):
        # Done already, or the fetch task will publish a new event once details arrive.
        return response
    config = pipeline_config(stamp=response._config_stamp)
    matched = getattr(response, "_matched_ids", None)
    themes: list[Theme] | None = None
    if config is cached and matched is not None:
        wanted = set(matched) if response.comment.strip() else set()
        themes = [t for t in config.themes if t.id in wanted]
    themes = response_analyse(response=response, config=config, themes=themes)
    response.status = Response.Status.PROCESSED
    response.processed_at = response.processed_at or timezone.now()
    return response, themes, config


def _response_work(*, response_id: int) -> Response | None:
    """The processing itself, in the caller's transaction (the event is the caller's to mark):
    a batch of one, read, planned and written by the code a worker's batch runs."""
    cached = pipeline_config_cached()
    locked = _responses_locked(response_ids=[response_id], config=cached)
    response = locked.get(response_id)
    item = _response_plan(response=response, cached=cached)
    if item is None:
        return response
    _batch_write([item])
    return item.response


@dataclass
class _Planned:
    """One response of a batch, analysed and routed, waiting for the batch's writes."""

    response: Response
    themes: list[Theme]
    config: PipelineConfig
    plan: InsightPlan | None


def _response_plan(*, response: Response | None, cached: PipelineConfig | None) -> _Planned | None:
    """The batch's per-response part, its row locked and read already: analyse, decide and
    route (reads only, but for a round-robin cursor); None when there is nothing to write."""
    analysed = _response_analysed(response=response, cached=cached)
    if not isinstance(analysed, tuple):
        return None
    response, themes, config = analysed
    plan = None
    if not response._has_insight:
        reason = actionability_reason(response=response, policy=config.policy)
        if reason:
            plan = insight_plan(response=response, themes=themes, reason=reason, config=config)
    return _Planned(response=response, themes=themes, config=config, plan=plan)


def _batch_write(items: list[_Planned]) -> None:
    """Write planned work set-based, for one response or a worker's batch alike: one statement
    per table for all its responses, then cluster the outer-loop insights under all their
    locks, taken at once (ADR 0007)."""
    if not items:
        return
    now = timezone.now()
    for item in items:
        item.response.updated_at = now
    _responses_update([i.response for i in items])
    _responses_themes_set(items)
    plans = [i.plan for i in items if i.plan is not None]
    if not plans:
        return
    Insight.objects.bulk_create([p.insight for p in plans])
    _links_insert(
        Insight.themes.through,
        "insight_id",
        "theme_id",
        [(p.insight.id, t.id) for p in plans for t in p.themes],
    )
    actions = [p.action for p in plans if p.action is not None]
    if actions:
        ActionItem.objects.bulk_create(actions)
        ActionItem.history.bulk_history_create(actions)  # the first audit record, as save() writes it
        _links_insert(
            ActionInsight,
            "action_id",
            "insight_id",
            [(p.action.id, p.insight.id) for p in plans if p.action is not None],
        )
        notification_bulk_create(
            rows=[n for p in plans if p.action is not None for n in _action_notification(p, p.action)]
        )
    _batch_cluster(plans, config=items[0].config)


# One UPDATE for a batch's responses, the values as arrays (Django's ``bulk_update`` builds a
# CASE per field and row: ~10 ms of CPU for 50 responses, more than all their other writes).
_RESPONSES_UPDATE_SQL = """
UPDATE feedback_response r SET nps_band = v.nps_band, csat_band = v.csat_band,
    ces_band = v.ces_band, sentiment = v.sentiment, touchpoint_id = v.touchpoint_id,
    department_id = v.department_id, status = v.status, processed_at = v.processed_at,
    updated_at = v.updated_at
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::float8[], %s::bigint[], %s::bigint[],
            %s::text[], %s::timestamptz[], %s::timestamptz[])
    AS v(id, nps_band, csat_band, ces_band, sentiment, touchpoint_id, department_id, status,
         processed_at, updated_at)
WHERE r.id = v.id
"""


def _responses_update(responses: list[Response]) -> None:
    """``response.save(update_fields=_RESPONSE_FIELDS)`` for every response of a batch at once."""
    if connection.vendor != "postgresql":
        Response.objects.bulk_update(responses, fields=_RESPONSE_FIELDS)
        return
    columns = ["id", *(Response._meta.get_field(name).attname for name in _RESPONSE_FIELDS)]
    with connection.cursor() as cursor:
        cursor.execute(_RESPONSES_UPDATE_SQL, [[getattr(r, c) for r in responses] for c in columns])


def _links_insert(
    model: Any, left: str, right: str, pairs: list[tuple[int, int]], *, ignore: bool = False
) -> None:
    """``bulk_create`` of a two-column link table, written once (building Django's INSERT for
    a few rows cost more CPU than running it)."""
    if not pairs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**{left: a, right: b}) for a, b in pairs], ignore_conflicts=ignore)
        return
    columns = [model._meta.get_field(name).column for name in (left, right)]
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ("{columns[0]}", "{columns[1]}") '  # noqa: S608  # nosec B608 (model metadata)
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[])" + (" ON CONFLICT DO NOTHING" if ignore else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[a for a, _b in pairs], [b for _a, b in pairs]])


def _responses_themes_set(items: list[_Planned]) -> None:
    """The batch's theme links: links to drop (a re-analysed response) and to add."""
    through = Response.themes.through
    stale = Q()
    new: list[tuple[int, int]] = []
    for item in items:
        wanted = {t.id for t in item.themes}
        current = getattr(item.response, "_theme_ids", None)
        have = set(item.response.themes.values_list("id", flat=True)) if current is None else set(current)
        if have - wanted:
            stale |= Q(response_id=item.response.id, theme_id__in=sorted(have - wanted))
        new += [(item.response.id, tid) for tid in sorted(wanted - have)]
    if stale:
        through.objects.filter(stale).delete()
    _links_insert(through, "response_id", "theme_id", new, ignore=True)


def _batch_cluster(plans: list[InsightPlan], *, config: PipelineConfig) -> None:
    """Attach the batch's outer-loop insights (saved, unattached) to their systemic actions.

    All the (department, theme) locks in one sorted statement, held from here to the commit
    only; then one read of the open actions. An insight whose first theme (name order) has an
    open action joins it; the others are clustered one by one as a single response is
    (``systemic_action_for``: the window count, maybe opening an action, which attaches the
    window, this batch's insights included). One UPDATE writes the attachments."""
    outer = [p for p in plans if p.clusters]
    if not outer:
        return
    pairs = {(p.insight.department_id, t.id) for p in outer for t in p.themes}
    systemic_actions_lock(pairs=pairs)
    open_actions = systemic_actions_open(pairs=pairs)
    attach: dict[int, int] = {}
    for plan in outer:
        insight = plan.insight
        first = min(plan.themes, key=lambda t: (t.name, t.id))
        action_id = open_actions.get((insight.department_id, first.id))
        if action_id is None:
            action_id, opened = systemic_action_for(
                department=insight.department,
                themes=plan.themes,
                priority=insight.priority,
                submitted=plan.response.submitted_at,
                settings=config.outer,
                exclude_insight_id=insight.id,
                policies=config.sla,
                calendars=config.calendars,
                lock=False,
            )
            if opened is not None:
                open_actions[(insight.department_id, opened.theme_id)] = opened.id
        if action_id is not None:
            attach[insight.id] = action_id
            insight.systemic_action_id = action_id
    if attach:
        # An insight the opening of an action attached already keeps that one.
        ids = sorted(attach)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_INSIGHTS_ATTACH_SQL, [ids, [attach[i] for i in ids]])
        else:
            Insight.objects.filter(id__in=ids, systemic_action__isnull=True).update(
                systemic_action=Case(*[When(id=i, then=Value(attach[i])) for i in ids])
            )


_INSIGHTS_ATTACH_SQL = """
UPDATE feedback_insight i SET systemic_action_id = v.action_id
FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, action_id)
WHERE i.id = v.id AND i.systemic_action_id IS NULL
"""


# At most this many events per batch. Each response runs in a savepoint, and PostgreSQL keeps
# only 64 subtransactions per backend in shared memory (beyond that every snapshot elsewhere gets
# slower), so stay well under 64.
BATCH_SIZE = 50

# Lock the message's own events (one, or the relay's group of up to a batch) and, with them,
# the oldest other pending process events nobody else holds (SKIP LOCKED: two workers never
# take the same event). Nothing at all when its own events are all processed: a redelivered or
# already drained message costs this one query. Others that failed before (last_error) are left
# to their own message: no hot retry loop.
_DRAIN_SQL = """
SELECT e.id, e.object_id FROM feedback_outboxevent e
WHERE e.processed_at IS NULL AND e.kind = %(kind)s
  AND (e.id = ANY(%(own)s) OR (%(others)s AND e.last_error = ''))
  AND EXISTS (SELECT 1 FROM feedback_outboxevent o WHERE o.id = ANY(%(own)s) AND o.processed_at IS NULL)
ORDER BY e.id <> ALL(%(own)s), e.id
LIMIT %(limit)s
FOR UPDATE OF e SKIP LOCKED
"""

# Lock conflicts with another transaction: deadlock, serialization failure, NOWAIT lock busy.
_RETRY_PGCODES = {"40P01", "40001", "55P03"}


class _BatchWriteFailed(Exception):
    """The batch's set-based writes or its clustering failed: the batch rolls back."""


def response_process_batch(
    *, event_id: int, limit: int = BATCH_SIZE, event_ids: list[int] | None = None
) -> list[int]:
    """Process the response of ``event_id`` (or of each of ``event_ids``, the relay's group:
    at most ``limit``) and other pending ones, up to ``limit`` in all, in one transaction (one
    commit). Returns the events it marked processed.

    Each response is analysed and routed in a savepoint; then the batch writes them all
    set-based and clusters its outer-loop insights at the very end (ADR 0007). A response that
    fails is recorded as failed (its event keeps its error and is published again by the
    sweeper) without losing the others; one that lost a lock conflict with another batch is
    processed again on its own after the commit, and so is every response of a batch whose
    writes failed (rolled back whole). A crash rolls the whole batch back: its events stay
    pending, and the redelivered message or the sweeper runs them.
    """
    retry: list[tuple[int, int]] = []
    events: list[tuple[int, int]] = []
    done: list[int] = []
    try:
        with transaction.atomic(), lock_batch():
            events = _events_drain(event_ids=event_ids or [event_id], limit=limit)
            if events:
                _batch_many(events, done=done, retry=retry)
            if done:
                OutboxEvent.objects.filter(id__in=done, processed_at=None).update(processed_at=timezone.now())
    except _BatchWriteFailed:
        log.warning("a batch failed to write; its responses are processed one at a time", exc_info=True)
        done, retry = [], events
    for eid, response_id in retry:
        try:
            _response_process_alone(response_id=response_id, event_id=eid)
            done.append(eid)
        except Exception:  # recorded as failed; the sweeper publishes it again
            log.warning("response processing failed after a lock conflict", extra={"event_id": eid})
    return done


def _batch_many(events: list[tuple[int, int]], *, done: list[int], retry: list[tuple[int, int]]) -> None:
    """Read and route every response, then write them set-based and cluster (ADR 0007)."""
    cached = pipeline_config_cached()
    ids = [rid for _eid, rid in events]
    try:
        locked = _responses_locked(response_ids=ids, config=cached)
        stamp = next(iter(locked.values()))._config_stamp if locked else None
        if stamp is not None and (cached is None or cached.stamp != stamp):
            # The first batch of a process, or an edit: read the configuration once, then the
            # rows again (locked already) with its theme match.
            cached = pipeline_config(stamp=stamp)
            locked = _responses_locked(response_ids=ids, config=cached)
    except DatabaseError as exc:  # a deadlock on response rows: one at a time instead
        raise _BatchWriteFailed from exc
    items: list[_Planned] = []
    seen: set[int] = set()
    for eid, response_id in events:
        if response_id in seen:  # two events for one response: the first does the work
            done.append(eid)
            continue
        try:
            item = _response_plan(response=locked.get(response_id), cached=cached)
        except LockBusy:
            retry.append((eid, response_id))
            continue
        except DatabaseError as exc:  # the transaction is aborted: the batch cannot go on
            raise _BatchWriteFailed from exc
        except Exception as exc:  # nothing was written for it (routing reads only)
            _record_failure(response_id=response_id, event_id=eid, error=exc)
            continue
        seen.add(response_id)
        done.append(eid)
        if item is not None:
            items.append(item)
    try:
        _batch_write(items)
    except Exception as exc:
        raise _BatchWriteFailed from exc


def _lock_conflict(exc: DatabaseError) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in _RETRY_PGCODES


def _response_process_alone(*, response_id: int, event_id: int, attempts: int = 3) -> None:
    """``response_process`` for a response a batch set aside, again on a deadlock (its
    transaction holds nothing else, so waiting is safe; a deadlock needs another's cycle)."""
    for attempt in range(1, attempts + 1):
        try:
            _response_process(response_id=response_id, event_id=event_id)
            return
        except DatabaseError as exc:
            if attempt < attempts and _lock_conflict(exc):
                continue
            _record_failure(response_id=response_id, event_id=event_id, error=exc)
            raise
        except Exception as exc:
            _record_failure(response_id=response_id, event_id=event_id, error=exc)
            raise


def _events_drain(*, event_ids: list[int], limit: int) -> list[tuple[int, int]]:
    """Lock the events of a batch (own first, then oldest): ``[(event id, response id)]``."""
    if connection.vendor != "postgresql":  # SQLite has no SKIP LOCKED: its own events only
        pending = OutboxEvent.objects.filter(id__in=event_ids, processed_at=None).order_by("id")
        return list(pending.values_list("id", "object_id"))
    with connection.cursor() as cursor:
        cursor.execute(
            _DRAIN_SQL,
            {
                "kind": OutboxEvent.Kind.RESPONSE_PROCESS,
                "own": list(event_ids),
                "others": limit > len(event_ids),
                "limit": limit,
            },
        )
        return [(eid, oid) for eid, oid in cursor.fetchall()]


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
