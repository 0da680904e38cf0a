"""Read queries behind the dashboards, the metrics API and the PDF report.

All of them take the set of department ids to look at (``None`` = the whole organisation);
``scope_ids`` turns a user (plus an optional requested subset) into that set through
``charter.selectors.department_ids_for``, the one place that decides what a person may see.
Every selector runs a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, RowNumber, TruncMonth
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from charter.models import Department, User
from charter.selectors import department_ids_for
from charter.selectors import maturity_trend as charter_maturity_trend
from feedback.models import ActionItem, Band, Loop, Program, Response, Theme
from missions.formatting import measure_figure
from missions.measure_status import measure_status
from missions.models import MeasureActual, MissionMoment, SuccessMeasure
from missions.selectors import moment_list

from . import metrics, roi, rollups, statistics
from .links import responses_url, triage_url
from .models import Report, RoiAssumption

DepartmentIds = set[int] | None


@dataclass(frozen=True)
class Period:
    """Inclusive dates, read as UTC days."""

    start: date
    end: date

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_dt(self) -> datetime:
        """Exclusive upper bound (midnight after ``end``); ``date.max`` stays representable."""
        end = min(self.end, date.max - timedelta(days=1))
        return datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)

    @classmethod
    def last_days(cls, days: int, *, today: date | None = None) -> Period:
        today = today or timezone.now().date()
        return cls(start=today - timedelta(days=days - 1), end=today)

    @classmethod
    def month(cls, first: date) -> Period:
        last = calendar.monthrange(first.year, first.month)[1]
        return cls(start=first.replace(day=1), end=first.replace(day=last))


@dataclass(frozen=True)
class ResponseFilters:
    date_from: date | None = None
    date_to: date | None = None
    program: str | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def scope_ids(*, user: User, requested: set[int] | None = None) -> DepartmentIds:
    """The departments to show: the user's scope, narrowed to ``requested`` when given."""
    allowed = department_ids_for(user=user)
    if requested is None:
        return allowed
    return set(requested) if allowed is None else set(requested) & allowed


def _by_departments[Q_: QuerySet[Any]](qs: Q_, ids: DepartmentIds, field_name: str = "department") -> Q_:
    return qs if ids is None else qs.filter(**{f"{field_name}__in": ids})


def response_queryset(
    *, department_ids: DepartmentIds, filters: ResponseFilters | None = None
) -> QuerySet[Response]:
    filters = filters or ResponseFilters()
    qs = _by_departments(Response.objects.all(), department_ids)
    if filters.date_from:
        qs = qs.filter(submitted_at__gte=Period(filters.date_from, filters.date_from).start_dt)
    if filters.date_to:
        qs = qs.filter(submitted_at__lt=Period(filters.date_to, filters.date_to).end_dt)
    if filters.program:
        qs = qs.filter(program__slug=filters.program)
    if filters.source:
        qs = qs.filter(source__slug=filters.source)
    return qs


def metric_results(
    *,
    department_ids: DepartmentIds,
    metric: str,
    group_by: str | tuple[str, ...],
    filters: ResponseFilters | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``GET /api/v1/metrics/``: one query for one dimension; for several
    (``("month", "department")``), one aggregate plus one small label query per non-month one."""
    responses = response_queryset(department_ids=department_ids, filters=filters)
    if not isinstance(group_by, tuple):
        return metrics.metric_groups(responses=responses, metric=metric, group_by=group_by)
    if department_ids is None and "department" in group_by:
        # Organisation-wide with no department condition the planner reads the whole heap. As
        # "every department" UNION ALL "no department" (groups that cannot overlap), each half
        # is an index-only scan of the covering index, like the hand-written GROUP BY.
        names = {pk: (slug, name) for pk, slug, name in Department.objects.values_list("id", "slug", "name")}
        parts = [
            response_queryset(department_ids=set(names), filters=filters),
            responses.filter(department__isnull=True),
        ]
        return metrics.metric_groups_multi(
            responses=parts, metric=metric, dimensions=group_by, known_labels={"department": names}
        )
    return metrics.metric_groups_multi(responses=responses, metric=metric, dimensions=group_by)


# --- trends -----------------------------------------------------------------------------


def _combine_months(metric: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Add monthly aggregates into one: sums of counts, count-weighted mean effort, and the
    pooled CES standard deviation from each month's mean, SD and count."""
    total: dict[str, Any] = {"count": 0, "promoters": 0, "passives": 0, "detractors": 0, "high": 0}
    ces_sum = ces_sq = 0.0
    for agg in rows:
        for key in ("count", "promoters", "passives", "detractors", "high"):
            total[key] += int(agg.get(key) or 0)
        if metric == "ces" and agg.get("count"):
            n, mean, sd = int(agg["count"]), float(agg.get("mean") or 0), float(agg.get("sd") or 0)
            ces_sum += mean * n
            ces_sq += (n - 1) * sd * sd + n * mean * mean
    if metric == "ces" and total["count"]:
        total["mean"] = ces_sum / total["count"]
        total["sd"] = statistics.ces_sd_from_sums(n=total["count"], total=ces_sum, total_sq=ces_sq)
    return total


def metric_change(
    metric: str, before: dict[str, Any], after: dict[str, Any], *, minimum: int | None = None
) -> Any:
    """Whether ``after`` differs from ``before`` (two result rows) beyond chance."""
    if metric == "nps":
        return statistics.nps_change(
            before=(before.get("promoters", 0), before.get("passives", 0), before.get("detractors", 0)),
            after=(after.get("promoters", 0), after.get("passives", 0), after.get("detractors", 0)),
            minimum=minimum,
        )
    if metric == "csat":
        return statistics.csat_change(
            before=(before.get("satisfied", 0), before["count"]),
            after=(after.get("satisfied", 0), after["count"]),
            minimum=minimum,
        )
    return statistics.ces_change(
        before=(before.get("score") or 0.0, before.get("sd") or 0.0, before["count"]),
        after=(after.get("score") or 0.0, after.get("sd") or 0.0, after["count"]),
        minimum=minimum,
    )


def metric_trends(
    *,
    department_ids: DepartmentIds,
    period: Period,
    minimum: int | None = None,
    compare: bool = False,
    today: date | None = None,
) -> dict[str, Any]:
    """NPS, CSAT and CES per month plus period totals, in one query (two with ``compare``:
    the period before, of the same length, for each metric's ``change``).

    Totals are combined from the monthly counts (sums of promoters, of satisfied answers, and
    the count-weighted mean effort), which equals aggregating the responses directly. A month
    not over yet is ``partial``; below ``minimum`` answers a row is ``small_sample``.
    """
    today = today or timezone.now().date()
    qs = response_queryset(
        department_ids=department_ids, filters=ResponseFilters(date_from=period.start, date_to=period.end)
    ).order_by()
    exprs: dict[str, Any] = {}
    for metric in metrics.METRICS:
        exprs.update({f"{metric}__{k}": v for k, v in metrics.aggregates(metric).items()})
    rows = list(qs.annotate(m=TruncMonth("submitted_at")).values("m").annotate(**exprs).order_by("m"))
    previous: dict[str, Any] = {}
    if compare:
        length = period.end - period.start + timedelta(days=1)
        before = Period(start=period.start - length, end=period.start - timedelta(days=1))
        previous = response_queryset(
            department_ids=department_ids,
            filters=ResponseFilters(date_from=before.start, date_to=before.end),
        ).aggregate(**exprs)
    out: dict[str, Any] = {}
    for metric in metrics.METRICS:
        series = []
        months = []
        for row in rows:
            agg = {k.split("__", 1)[1]: v for k, v in row.items() if k.startswith(metric + "__")}
            if not agg.get("count"):
                continue
            month_start = row["m"].date()
            item = metrics.result_row(
                metric=metric,
                group=f"{month_start:%Y-%m}",
                label=f"{month_start:%b %Y}",
                agg=agg,
                minimum=minimum,
            )
            item["partial"] = metrics.month_partial(month_start, today=today)
            month = Period.month(month_start)
            item["url"] = responses_url(date_from=month.start, date_to=month.end)
            series.append(item)
            months.append(agg)
        total = _combine_months(metric, months)
        summary = metrics.result_row(metric=metric, group=None, label=None, agg=total, minimum=minimum)
        summary["url"] = responses_url(date_from=period.start, date_to=period.end)
        summary["direction"] = metrics.DIRECTION[metric]
        if compare:
            agg = {k.split("__", 1)[1]: v for k, v in previous.items() if k.startswith(metric + "__")}
            before_row = metrics.result_row(metric=metric, group=None, label=None, agg=agg, minimum=minimum)
            summary["previous"] = before_row
            summary["change"] = metric_change(metric, before_row, summary, minimum=minimum)
        out[metric] = {"series": series, "summary": summary}
    return out


# --- loops ------------------------------------------------------------------------------


def _loop_aggregates(*, period: Period, now: datetime) -> dict[str, Any]:
    """Loop-closure aggregates as counts and sums, so groups add up (per department → total)."""
    in_period = Q(created_at__gte=period.start_dt, created_at__lt=period.end_dt)
    closed = ActionItem.really_closed_q()  # a follow-up "resolved" with nobody spoken to is not closed
    open_ = Q(status__in=ActionItem.OPEN_STATUSES)
    closed_dated = in_period & closed & Q(closed_at__isnull=False)
    return {
        "created": Count("id", filter=in_period),
        "closed": Count("id", filter=in_period & closed),
        "closed_on_time": Count("id", filter=in_period & closed & Q(closed_at__lte=F("due_at"))),
        "contact_due": Count("id", filter=in_period & Q(first_contact_due_at__isnull=False)),
        "contacted_on_time": Count(
            "id",
            filter=in_period
            & Q(first_contact_due_at__isnull=False, first_contacted_at__lte=F("first_contact_due_at")),
        ),
        # A closing date before creation (back-filled data) counts as closed at once.
        "time_to_close_sum": Sum(
            Greatest(
                ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
                Value(timedelta(0)),
            ),
            filter=closed_dated,
        ),
        "time_to_close_n": Count("id", filter=closed_dated),
        "backlog": Count("id", filter=open_),
        "overdue": Count("id", filter=open_ & Q(due_at__lt=now)),
        "backlog_age_sum": Sum(
            ExpressionWrapper(Value(now) - F("created_at"), output_field=DurationField()), filter=open_
        ),
        "oldest": Min("created_at", filter=open_),
    }


_LOOP_SUMS = ("created", "closed", "closed_on_time", "contact_due", "contacted_on_time", "time_to_close_n")


def _loop_add(total: dict[str, Any], row: dict[str, Any]) -> None:
    for key in (*_LOOP_SUMS, "backlog", "overdue"):
        total[key] = total.get(key, 0) + (row.get(key) or 0)
    for key in ("time_to_close_sum", "backlog_age_sum"):
        if row.get(key) is not None:
            total[key] = total.get(key, timedelta(0)) + row[key]
    if row.get("oldest") is not None and (total.get("oldest") is None or row["oldest"] < total["oldest"]):
        total["oldest"] = row["oldest"]


def _loop_lines(
    rows: dict[str, dict[str, Any]], *, period: Period, now: datetime, department: int | None = None
) -> list[dict[str, Any]]:
    """One line per loop (inner, outer) from its summed aggregates."""
    out = []
    days = lambda d: round(d.total_seconds() / 86400, 1) if d is not None else None  # noqa: E731
    scope = {} if department is None else {"department": department}
    for loop in Loop:
        r = rows.get(loop.value, {})
        created = r.get("created", 0)
        closed_n = r.get("closed", 0)
        ttc_n, backlog = r.get("time_to_close_n", 0), r.get("backlog", 0)
        q = {"loop": loop.value, "date_from": period.start, "date_to": period.end, **scope}
        out.append(
            {
                "loop": loop.value,
                "label": loop.label,
                "created": created,
                "closed": closed_n,
                "closure_rate": metrics.round1(100 * closed_n / created) if created else None,
                "time_to_close_days": days(r["time_to_close_sum"] / ttc_n) if ttc_n else None,
                "sla_on_time": metrics.round1(100 * r.get("closed_on_time", 0) / closed_n)
                if closed_n
                else None,
                "first_contact_on_time": (
                    metrics.round1(100 * r.get("contacted_on_time", 0) / r["contact_due"])
                    if r.get("contact_due")
                    else None
                ),
                "backlog": backlog,
                "overdue": r.get("overdue", 0),
                "backlog_age_days": days(r["backlog_age_sum"] / backlog)
                if backlog and r.get("backlog_age_sum") is not None
                else None,
                "oldest_days": days(now - r["oldest"]) if r.get("oldest") else None,
                "created_url": triage_url(tab="open", **q),
                "closed_url": triage_url(tab="closed", **q),
                "backlog_url": triage_url(tab="open", loop=loop.value, **scope),
                "overdue_url": triage_url(tab="overdue", loop=loop.value, **scope),
            }
        )
    return out


def loop_closure(
    *, department_ids: DepartmentIds, period: Period, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per loop: closure rate and time to close (actions created in the period), SLA
    compliance, and today's backlog with its age. One query."""
    now = now or timezone.now()
    qs = _by_departments(ActionItem.objects.all(), department_ids).order_by()
    rows = {r["loop"]: r for r in qs.values("loop").annotate(**_loop_aggregates(period=period, now=now))}
    return _loop_lines(rows, period=period, now=now)


def loop_closure_by_department(
    *, department_ids: DepartmentIds, period: Period, now: datetime | None = None
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """``loop_closure`` for the whole scope and for each department, from one GROUP BY
    department, loop (the totals are the departments' sums)."""
    now = now or timezone.now()
    qs = _by_departments(ActionItem.objects.all(), department_ids).order_by()
    total: dict[str, dict[str, Any]] = {}
    per: dict[int, dict[str, dict[str, Any]]] = {}
    for r in qs.values("department_id", "loop").annotate(**_loop_aggregates(period=period, now=now)):
        _loop_add(total.setdefault(r["loop"], {}), r)
        _loop_add(per.setdefault(r["department_id"], {}).setdefault(r["loop"], {}), r)
    return _loop_lines(total, period=period, now=now), {
        dept: _loop_lines(rows, period=period, now=now, department=dept) for dept, rows in per.items()
    }


# --- themes and programs ----------------------------------------------------------------


def rising_themes(
    *, department_ids: DepartmentIds, now: datetime | None = None, days: int = 30, limit: int = 5
) -> list[Theme]:
    """Themes with more mentions in the last ``days`` than in the ``days`` before. One query."""
    now = now or timezone.now()
    recent_start, previous_start = now - timedelta(days=days), now - timedelta(days=2 * days)
    scope = Q() if department_ids is None else Q(responses__department__in=department_ids)
    themes = (
        Theme.objects.filter(is_active=True)
        .annotate(
            recent=Count("responses", filter=scope & Q(responses__submitted_at__gte=recent_start)),
            previous=Count(
                "responses",
                filter=scope
                & Q(responses__submitted_at__gte=previous_start, responses__submitted_at__lt=recent_start),
            ),
        )
        .annotate(rise=F("recent") - F("previous"))
        .filter(recent__gt=0, rise__gt=0)
        .order_by("-rise", "name")[:limit]
    )
    out = list(themes)
    for theme in out:
        theme.url = triage_url(tab="open", theme=theme.pk)
        theme.actions_url = triage_url(tab="systemic", theme=theme.pk)
    return out


def top_themes(*, department_ids: DepartmentIds, period: Period, limit: int = 5) -> list[Theme]:
    """Most-mentioned themes in the period, each with its systemic actions and a few
    verbatim comments. Three queries."""
    scope = Q() if department_ids is None else Q(responses__department__in=department_ids)
    in_period = Q(responses__submitted_at__gte=period.start_dt, responses__submitted_at__lt=period.end_dt)
    actions = (
        _by_departments(ActionItem.objects.filter(loop=Loop.OUTER), department_ids)
        .select_related("department", "owner")
        .order_by("-created_at")
    )
    comments = _by_departments(
        Response.objects.filter(submitted_at__gte=period.start_dt, submitted_at__lt=period.end_dt).exclude(
            comment=""
        ),
        department_ids,
    ).order_by("-submitted_at", "-id")
    themes = (
        Theme.objects.annotate(mentions=Count("responses", filter=scope & in_period))
        .filter(mentions__gt=0)
        .order_by("-mentions", "name")
        .prefetch_related(
            Prefetch("actions", queryset=actions, to_attr="systemic_actions"),
            Prefetch("responses", queryset=comments[:3], to_attr="sample_responses"),
        )[:limit]
    )
    out = list(themes)
    for theme in out:
        theme.url = triage_url(tab="open", theme=theme.pk, date_from=period.start, date_to=period.end)
        theme.actions_url = triage_url(tab="systemic", theme=theme.pk)
        for action in theme.systemic_actions:
            action.url = _action_url(action.pk)
    return out


def _named_url(name: str, **kwargs: Any) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def _action_url(pk: int) -> str:
    return _named_url("feedback:action-detail", pk=pk)


def programs_needing_attention(*, department_ids: DepartmentIds) -> list[Program]:
    """Active programs that do not say why they exist, or whose feedback led to no action."""
    has_action = ActionItem.objects.filter(response__program=OuterRef("pk"))
    has_response = Response.objects.filter(program=OuterRef("pk"))
    qs = (
        _by_departments(Program.objects.filter(is_active=True), department_ids)
        .select_related("department")
        .annotate(any_action=Exists(has_action), any_response=Exists(has_response))
    )
    out = []
    for program in qs:
        reasons = []
        if not program.has_purpose:
            reasons.append("no purpose")
        if not program.any_action:
            reasons.append("no action taken" if program.any_response else "no responses yet")
        if reasons:
            program.reasons = reasons
            program.url = responses_url(program=program.slug)
            out.append(program)
    return out


# --- success measures, ROI --------------------------------------------------------------


def scorecard(
    *,
    department_ids: DepartmentIds,
    period: Period | None = None,
    today: date | None = None,
    minimum: int | None = None,
) -> list[SuccessMeasure]:
    """Success measures with their latest value (complete period, enough answers), progress to
    target and, for CX measures, whether the last change is significant. Three queries.

    ``period``: only actuals dated inside it count (a report for September–November never shows
    December's value); ``today`` defaults to the period's end + 1 day in that case, so a month
    that ends inside the period counts as over. ``minimum`` overrides each measure's own
    ``min_answers``.
    """
    actuals = MeasureActual.objects.order_by("date", "origin")
    if period is not None:
        actuals = actuals.filter(date__gte=period.start, date__lte=period.end)
        today = today or min(period.end + timedelta(days=1), timezone.now().date())
    qs = SuccessMeasure.objects.select_related("owner_department", "validated_by").prefetch_related(
        Prefetch("programs", queryset=Program.objects.order_by("slug")),
        Prefetch("actuals", queryset=actuals),
    )
    if department_ids is not None:
        qs = qs.filter(Q(owner_department__in=department_ids) | Q(owner_department__isnull=True))
    out = list(qs)
    for m in out:
        status = measure_status(m, today=today, minimum=minimum)
        m.status = status
        m.latest = status.latest
        m.latest_value = status.latest.value if status.latest else None
        m.latest_date = status.latest.date if status.latest else None
        m.progress = status.progress
        m.change = _measure_change(m.kind, status)
        # Kept for callers that read the old shape: progress in percent, None when moving away.
        m.movement = {
            "progress": None if status.progress.share is None else Decimal(str(status.progress.percent)),
            "change": None
            if m.latest_value is None or m.baseline_value is None
            else m.latest_value - m.baseline_value,
        }
        programs = list(m.programs.all())
        if m.is_cx_metric and programs:
            m.url = responses_url(program=programs[0].slug)
        else:
            m.url = _named_url("missions:measure-detail", pk=m.pk)
    return out


def _measure_change(kind: str, status: Any) -> Any:
    """Significance of a CX measure's last change (latest complete month vs the one before)."""
    latest, previous = status.latest, status.previous
    if latest is None or previous is None or latest.source != "computed" or previous.source != "computed":
        return None
    before = {"count": previous.count or 0, "score": float(previous.value), **(previous.actual.stats or {})}
    after = {"count": latest.count or 0, "score": float(latest.value), **(latest.actual.stats or {})}
    if kind not in metrics.METRICS:
        return None
    return metric_change(kind, before, after, minimum=1)


def assumption_for(assumptions: list[RoiAssumption], department_id: int | None) -> RoiAssumption | None:
    by_dept = {a.department_id: a for a in assumptions}
    return by_dept.get(department_id) or by_dept.get(None)


def roi_summary(
    *, department_ids: DepartmentIds, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """Money figures of the ROI model for the period. Three queries.

    Inner loop: detractors whose inner-loop action was created in the period, contacted,
    and resolved. Outer loop: systemic fixes (fixed/verified) closed in the period at least
    ``roi.FIX_WINDOW_DAYS`` ago, comparing their theme's mentions before and after.
    """
    now = now or timezone.now()
    assumptions = list(RoiAssumption.objects.select_related("department", "owner", "validated_by"))
    inner = (
        _by_departments(
            ActionItem.objects.filter(loop=Loop.INNER, response__nps_band=Band.DETRACTOR), department_ids
        )
        .filter(created_at__gte=period.start_dt, created_at__lt=period.end_dt)
        .order_by()
        .values("department_id", "department__name", "department__slug")
        .annotate(
            detractors=Count("id"),
            contacted=Count("id", filter=Q(first_contacted_at__isnull=False)),
            recovered=Count(
                "id", filter=Q(first_contacted_at__isnull=False, status=ActionItem.Status.RESOLVED)
            ),
        )
        .order_by("department__name")
    )
    window = timedelta(days=roi.FIX_WINDOW_DAYS)
    theme_responses = Response.objects.filter(themes=OuterRef("theme"))
    if department_ids is not None:
        theme_responses = theme_responses.filter(department__in=department_ids)

    def contacts(start: Any, end: Any) -> Coalesce:
        sub = (
            theme_responses.filter(submitted_at__gte=start, submitted_at__lt=end)
            .order_by()
            .values("themes")
            .annotate(c=Count("id"))
            .values("c")[:1]
        )
        return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))

    fixes = (
        _by_departments(ActionItem.objects.filter(loop=Loop.OUTER, theme__isnull=False), department_ids)
        .filter(
            status__in=[ActionItem.Status.FIXED, ActionItem.Status.VERIFIED],
            closed_at__gte=period.start_dt,
            closed_at__lt=min(period.end_dt, now - window),
        )
        .select_related("theme", "department")
        .annotate(
            before=contacts(OuterRef("closed_at") - window, OuterRef("closed_at")),
            after=contacts(OuterRef("closed_at"), OuterRef("closed_at") + window),
        )
        .order_by("closed_at", "id")
    )
    inner_lines, outer_lines = [], []
    used: dict[int, RoiAssumption] = {}
    for row in inner:
        a = assumption_for(assumptions, row["department_id"])
        amount = None
        if a is not None:
            used[a.pk] = a
            amount = roi.revenue_retained(
                recovered=row["recovered"],
                customer_value=a.customer_value_per_year,
                churn_from_pct=a.churn_rate_detractor,
                churn_to_pct=a.churn_rate_passive,
            )
        inner_lines.append(
            {
                **row,
                "assumption": a,
                "amount": amount,
                "validated": bool(a and a.is_validated),
                "url": triage_url(
                    tab="closed",
                    loop="inner",
                    department=row["department_id"],
                    status=ActionItem.Status.RESOLVED,
                    date_from=period.start,
                    date_to=period.end,
                ),
            }
        )
    for fix in fixes:
        a = assumption_for(assumptions, fix.department_id)
        amount = None
        if a is not None:
            used[a.pk] = a
            amount = roi.cost_avoided(
                contacts_before=fix.before, contacts_after=fix.after, cost_per_contact=a.cost_per_contact
            )
        outer_lines.append(
            {
                "action": fix,
                "assumption": a,
                "amount": amount,
                "validated": bool(a and a.is_validated),
                "url": _action_url(fix.pk) or triage_url(tab="systemic", theme=fix.theme_id),
            }
        )
    revenue = sum((line["amount"] or Decimal(0) for line in inner_lines), Decimal(0))
    avoided = sum((line["amount"] or Decimal(0) for line in outer_lines), Decimal(0))
    used_list = sorted(used.values(), key=lambda a: a.segment)
    currency = used_list[0].currency if used_list else (assumptions[0].currency if assumptions else "EUR")
    return {
        "inner": inner_lines,
        "outer": outer_lines,
        "revenue_retained": roi.money(revenue),
        "cost_avoided": roi.money(avoided),
        "total": roi.money(revenue + avoided),
        "currency": currency,
        "assumptions": assumptions,
        "used_assumptions": used_list,
        "all_validated": bool(used_list) and all(a.is_validated for a in used_list),
        "unvalidated": [a for a in used_list if not a.is_validated],
        "window_days": roi.FIX_WINDOW_DAYS,
    }


# --- report rollups ---------------------------------------------------------------------
#
# The PDF covers a long period over every department: the same figures per month, per
# department and per program. Each of those is a roll-up of one GROUP BY month, department,
# program over the responses (summed in Python over a few hundred rows), instead of one
# scan of a million rows per table.


def _rollup_aggregates() -> dict[str, Any]:
    """All three metrics' aggregates, CES as a sum (not a mean) so that groups add up."""
    exprs: dict[str, Any] = {}
    for metric in metrics.METRICS:
        exprs.update(
            {f"{metric}__{k}": v for k, v in metrics.aggregates(metric).items() if k not in ("mean", "sd")}
        )
    exprs["ces__total"] = Sum(metrics.ces_on_seven(), filter=Q(ces__isnull=False))
    return exprs


def response_rollup(*, department_ids: DepartmentIds, period: Period) -> list[dict[str, Any]]:
    """Counts of every metric per month × department × program in the period. One query: over
    the daily roll-up on PostgreSQL (``reports.rollups``), over the responses elsewhere."""
    if rollups.enabled():
        return rollups.response_months(department_ids=department_ids, start=period.start, end=period.end)
    return response_rollup_direct(department_ids=department_ids, period=period)


def response_rollup_direct(*, department_ids: DepartmentIds, period: Period) -> list[dict[str, Any]]:
    """``response_rollup`` grouped from the responses themselves."""
    qs = response_queryset(
        department_ids=department_ids, filters=ResponseFilters(date_from=period.start, date_to=period.end)
    ).order_by()
    return list(
        qs.annotate(month=TruncMonth("submitted_at"))
        .values("month", "department_id", "program_id")
        .annotate(**_rollup_aggregates())
    )


def rollup_sum(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Add roll-up rows into one aggregate per metric (the shape ``metrics.result_row`` reads)."""
    total = {metric: dict.fromkeys(keys, 0) for metric, keys in rollups.ROLLUP_KEYS.items()}
    for row in rows:
        for metric, keys in rollups.ROLLUP_KEYS.items():
            for key in keys:
                total[metric][key] += row[f"{metric}__{key}"] or 0
    for agg in total.values():
        agg["mean"] = agg["total"] / agg["count"] if agg.get("count") and "total" in agg else None
    return total


def rollup_results(
    rows: Iterable[dict[str, Any]], *, group: str | None = None, label: str | None = None
) -> dict[str, dict[str, Any]]:
    """NPS, CSAT and CES rows over ``rows`` (as the metrics API would give them)."""
    total = rollup_sum(rows)
    return {m: metrics.result_row(metric=m, group=group, label=label, agg=total[m]) for m in metrics.METRICS}


def rollup_trends(rows: list[dict[str, Any]], *, period: Period) -> dict[str, Any]:
    """``metric_trends`` computed from roll-up rows: series per month and period summary."""
    by_month: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_month.setdefault(row["month"], []).append(row)
    out: dict[str, Any] = {m: {"series": []} for m in metrics.METRICS}
    for month in sorted(by_month):
        month_start = month.date()
        results = rollup_results(by_month[month], group=f"{month_start:%Y-%m}", label=f"{month_start:%b %Y}")
        span = Period.month(month_start)
        for metric, item in results.items():
            item["partial"] = metrics.month_partial(month_start)
            if item["count"]:
                item["url"] = responses_url(date_from=span.start, date_to=span.end)
                out[metric]["series"].append(item)
    for metric, summary in rollup_results(rows).items():
        summary["url"] = responses_url(date_from=period.start, date_to=period.end)
        summary["direction"] = metrics.DIRECTION[metric]
        out[metric]["summary"] = summary
    return out


def rollup_by(
    rows: list[dict[str, Any]], *, key: str, names: dict[Any, tuple[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """Per metric, one API-shaped row per ``key`` value (slug, name from ``names``) with answers,
    ordered as the metrics API orders groups (name, then slug; unassigned last)."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    out: dict[str, list[tuple[Any, dict[str, Any]]]] = {m: [] for m in metrics.METRICS}
    for value, members in groups.items():
        slug, name = names.get(value, ("", "Unassigned"))
        for metric, item in rollup_results(members, group=slug, label=name).items():
            if item["count"]:
                out[metric].append(((value is None, name, slug), item))
    return {m: [item for _, item in sorted(items, key=lambda p: p[0])] for m, items in out.items()}


def theme_rollup(*, department_ids: DepartmentIds, period: Period) -> list[dict[str, Any]]:
    """Mentions of each theme per department in the period, with the detractors among them.
    One query: over the daily roll-up on PostgreSQL (``reports.rollups``), elsewhere over the
    responses joined to their themes, grouped by theme and department."""
    if rollups.enabled():
        return rollups.theme_departments(department_ids=department_ids, start=period.start, end=period.end)
    return theme_rollup_direct(department_ids=department_ids, period=period)


def theme_rollup_direct(*, department_ids: DepartmentIds, period: Period) -> list[dict[str, Any]]:
    """``theme_rollup`` grouped from the theme links and their responses."""
    through = Response.themes.through
    qs = through.objects.filter(
        response__submitted_at__gte=period.start_dt, response__submitted_at__lt=period.end_dt
    )
    if department_ids is not None:
        qs = qs.filter(response__department__in=department_ids)
    return list(
        qs.order_by()
        .values("theme_id", department_id=F("response__department_id"))
        .annotate(
            mentions=Count("id"),
            detractors=Count("id", filter=Q(response__nps_band=Band.DETRACTOR)),
            scored=Count("id", filter=Q(response__nps__isnull=False) & ~Q(response__nps_band="")),
        )
    )


def theme_quotes(
    *, department_ids: DepartmentIds, period: Period, wanted: list[tuple[int, int | None]], per: int
) -> dict[tuple[int, int | None], list[Response]]:
    """The ``per`` most recent comments of each (theme, department or ``None`` = the scope),
    in one statement: a UNION ALL of small ``ORDER BY submitted_at DESC LIMIT per`` queries,
    each walking a (department, submitted_at) or submitted_at index backwards."""
    if not wanted:
        return {}
    base = (
        response_queryset(
            department_ids=department_ids,
            filters=ResponseFilters(date_from=period.start, date_to=period.end),
        )
        .exclude(comment="")
        .only("id", "comment", "submitted_at", "nps", "csat", "ces", "department_id")
        .order_by("-submitted_at", "-id")
    )
    parts = []
    for theme_id, dept_id in wanted:
        qs = base.filter(themes=theme_id)
        if dept_id is not None:
            qs = qs.filter(department_id=dept_id)
        parts.append(
            qs.annotate(
                quote_theme=Value(theme_id, output_field=IntegerField()),
                quote_department=Value(dept_id or 0, output_field=IntegerField()),
            )[:per]
        )
    out: dict[tuple[int, int | None], list[Response]] = {pair: [] for pair in wanted}
    if connection.features.supports_slicing_ordering_in_compound:
        fetched: Iterable[Response] = parts[0].union(*parts[1:], all=True)
    else:  # SQLite has no LIMIT inside a UNION: one small query per pair (the embedded default)
        fetched = (response for part in parts for response in part)
    for response in fetched:
        out[(response.quote_theme, response.quote_department or None)].append(response)
    for quotes in out.values():
        quotes.sort(key=lambda r: (r.submitted_at, r.pk), reverse=True)
    return out


def systemic_actions(
    *, department_ids: DepartmentIds, period: Period, per_department: int = 12
) -> list[ActionItem]:
    """Outer-loop actions open now or created or closed in the period, newest first, at most
    ``per_department`` per department. One query."""
    active = (
        Q(status__in=ActionItem.OPEN_STATUSES)
        | Q(created_at__gte=period.start_dt, created_at__lt=period.end_dt)
        | Q(closed_at__gte=period.start_dt, closed_at__lt=period.end_dt)
    )
    qs = (
        _by_departments(ActionItem.objects.filter(loop=Loop.OUTER), department_ids)
        .filter(active)
        .select_related("department", "owner", "theme", "success_measure")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("department_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_department)
        .order_by("-created_at", "-id")
    )
    out = list(qs)
    for action in out:
        action.url = _action_url(action.pk)
    return out


def _theme_figures(
    *, department_ids: DepartmentIds, period: Period
) -> tuple[
    list[int],
    dict[int, int],
    dict[int, Theme],
    dict[int | None, list[dict[str, Any]]],
    dict[tuple[int, int | None], list[Response]],
]:
    """The themes of the report: org-wide top five, each department's top three, with quotes
    in one statement. Three queries."""
    theme_rows = theme_rollup(department_ids=department_ids, period=period)
    themes_by_id = {t.pk: t for t in Theme.objects.filter(id__in={r["theme_id"] for r in theme_rows})}
    mentions: dict[int, int] = {}
    for r in theme_rows:
        mentions[r["theme_id"]] = mentions.get(r["theme_id"], 0) + r["mentions"]
    top = sorted(mentions, key=lambda t: (-mentions[t], themes_by_id[t].name))[:5]
    per_department_themes: dict[int | None, list[dict[str, Any]]] = {}
    for r in sorted(theme_rows, key=lambda r: (-r["mentions"], themes_by_id[r["theme_id"]].name)):
        if r["department_id"] is not None:
            per_department_themes.setdefault(r["department_id"], []).append(r)
    wanted: list[tuple[int, int | None]] = [(t, None) for t in top]
    for dept_id, items in per_department_themes.items():
        del items[3:]
        wanted += [(r["theme_id"], dept_id) for r in items]
    quotes = theme_quotes(department_ids=department_ids, period=period, wanted=wanted, per=3)
    return top, mentions, themes_by_id, per_department_themes, quotes


def report_data(
    *, department_ids: DepartmentIds, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """Every figure of the PDF report, organisation and per department, in a fixed number of
    queries whatever the number of departments, months or responses, one after the other on
    the caller's connection."""
    now = now or timezone.now()
    departments = departments_named(department_ids)
    rows = response_rollup(department_ids=department_ids, period=period)
    program_ids = {r["program_id"] for r in rows}
    programs = {p.pk: p for p in Program.objects.filter(id__in=program_ids).select_related("department")}
    dept_names = {d.pk: (d.slug, d.name) for d in departments}
    trends = rollup_trends(rows, period=period)
    by_department = rollup_by(rows, key="department_id", names=dept_names)
    actions = systemic_actions(department_ids=department_ids, period=period)
    actions_by_theme: dict[int, list[ActionItem]] = {}
    actions_by_department: dict[int, list[ActionItem]] = {}
    for action in actions:
        if action.theme_id is not None:
            actions_by_theme.setdefault(action.theme_id, []).append(action)
        actions_by_department.setdefault(action.department_id, []).append(action)

    loops, loops_per_department = loop_closure_by_department(
        department_ids=department_ids, period=period, now=now
    )
    top, mentions, themes_by_id, per_department_themes, quotes = _theme_figures(
        department_ids=department_ids, period=period
    )
    themes = []
    for theme_id in top:
        theme = themes_by_id[theme_id]
        theme.mentions = mentions[theme_id]
        theme.systemic_actions = actions_by_theme.get(theme_id, [])
        theme.sample_responses = quotes[(theme_id, None)]
        theme.url = triage_url(tab="open", theme=theme_id, date_from=period.start, date_to=period.end)
        theme.actions_url = triage_url(tab="systemic", theme=theme_id)
        themes.append(theme)

    measures = scorecard(department_ids=department_ids, period=period)
    roi_data = roi_summary(department_ids=department_ids, period=period, now=now)
    rows_by_department: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        rows_by_department.setdefault(r["department_id"], []).append(r)
    program_names = {pk: (p.slug, p.name) for pk, p in programs.items()}
    sections = []
    no_answers: list[Department] = []
    for dept in departments:
        dept_rows = rows_by_department.get(dept.pk, [])
        dept_loops = loops_per_department.get(dept.pk) or []
        answered = any(_rollup_count(r) for r in dept_rows)
        if not answered:
            no_answers.append(dept)
        active = any(line["created"] or line["closed"] for line in dept_loops)
        dept_measures = [m for m in measures if m.owner_department_id == dept.pk and m.latest is not None]
        if not (answered or active or dept_measures):
            continue  # one line for all of them ("No answers in this period: …"), not a page each
        sections.append(
            {
                "department": dept,
                "summary": rollup_results(dept_rows),
                "months": _month_table(dept_rows),
                "programs": _program_table(dept_rows, names=program_names),
                "loops": loops_per_department.get(dept.pk) or _loop_lines({}, period=period, now=now),
                "themes": [
                    {
                        "theme": themes_by_id[r["theme_id"]],
                        "mentions": r["mentions"],
                        "detractor_share": metrics.round1(100 * r["detractors"] / r["scored"])
                        if r["scored"]
                        else None,
                        "quotes": quotes[(r["theme_id"], dept.pk)],
                    }
                    for r in per_department_themes.get(dept.pk, [])
                ],
                "actions": actions_by_department.get(dept.pk, []),
                "measures": [m for m in measures if m.owner_department_id == dept.pk],
                "roi_inner": [line for line in roi_data["inner"] if line["department_id"] == dept.pk],
                "roi_outer": [line for line in roi_data["outer"] if line["action"].department_id == dept.pk],
            }
        )
    return {
        "departments": departments,
        "trends": trends,
        "by_department": by_department,
        "loops": loops,
        "themes": themes,
        "scorecard": measures,
        "roi": roi_data,
        "sections": sections,
        "no_answers": no_answers,
    }


def _rollup_count(row: dict[str, Any]) -> int:
    return sum(int(row.get(f"{metric}__count") or 0) for metric in metrics.METRICS)


def _program_table(rows: list[dict[str, Any]], *, names: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """One line per program with NPS, CSAT and CES side by side, by program name."""
    by_program: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_program.setdefault(row["program_id"], []).append(row)
    lines = [
        {"name": names.get(pk, ("", "?"))[1], **rollup_results(members)} for pk, members in by_program.items()
    ]
    return sorted(lines, key=lambda line: line["name"])


def _month_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per month with answers: NPS, CSAT and CES side by side."""
    by_month: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        by_month.setdefault(row["month"], []).append(row)
    lines = []
    for month in sorted(by_month):
        results = rollup_results(by_month[month])
        lines.append({"month": month.date(), "partial": metrics.month_partial(month.date()), **results})
    return lines


# --- executive extras -------------------------------------------------------------------


def ex_next_to_cx(*, department_ids: DepartmentIds, period: Period) -> list[dict[str, Any]]:
    """NPS from customers next to employee NPS, for departments that run an employee program."""
    employee = Q(program__kind=Program.Kind.EMPLOYEE_PULSE)
    exprs: dict[str, Any] = {}
    for prefix, cond in (("cx", ~employee), ("ex", employee)):
        exprs[f"{prefix}__count"] = Count("id", filter=cond & Q(nps__isnull=False) & ~Q(nps_band=""))
        for key, band in (
            ("promoters", Band.PROMOTER),
            ("passives", Band.PASSIVE),
            ("detractors", Band.DETRACTOR),
        ):
            exprs[f"{prefix}__{key}"] = Count("id", filter=cond & Q(nps_band=band))
    rows = (
        response_queryset(
            department_ids=department_ids, filters=ResponseFilters(date_from=period.start, date_to=period.end)
        )
        .order_by()
        .filter(department__isnull=False)
        .values("department__slug", "department__name")
        .annotate(**exprs)
        .filter(ex__count__gt=0)
        .order_by("department__name")
    )
    out = []
    for r in rows:
        item = {"slug": r["department__slug"], "name": r["department__name"]}
        for prefix in ("cx", "ex"):
            agg = {k.split("__", 1)[1]: v for k, v in r.items() if k.startswith(prefix + "__")}
            item[prefix] = metrics.result_row(metric="nps", group=None, label=None, agg=agg)
        item["cx_url"] = item["ex_url"] = responses_url(
            department=item["slug"], date_from=period.start, date_to=period.end
        )
        out.append(item)
    return out


def featured_moments(*, department_ids: DepartmentIds, limit: int = 6) -> list[MissionMoment]:
    """Featured Mission Moments, most recently featured first, in the departments shown."""
    qs = _by_departments(moment_list(featured=True), department_ids).order_by("-featured_at", "-id")
    return list(qs[:limit])


def maturity_trend() -> list[Any]:
    """Maturity level per assessment, oldest first (the governance area computes it)."""
    return charter_maturity_trend()


def departments_named(ids: DepartmentIds) -> list[Department]:
    qs = Department.objects.order_by("name")
    return list(qs if ids is None else qs.filter(id__in=ids))


# --- reports ----------------------------------------------------------------------------


def report_visible_to(*, report: Report, user: User) -> bool:
    """Organisation-wide reports: executives and CX leaders only; department reports: people
    who see every department of the report."""
    allowed = department_ids_for(user=user)
    if allowed is None:
        return True
    if report.org_wide:
        return False
    wanted = {int(x) for x in report.department_key.split(",") if x}
    return bool(wanted) and wanted <= allowed


def report_list(*, user: User) -> QuerySet[Report]:
    """The reports ``user`` may see, newest first (paginate it; two queries a page)."""
    allowed = department_ids_for(user=user)
    qs = Report.objects.select_related("requested_by").prefetch_related("departments")
    if allowed is not None:
        outside = Department.objects.exclude(id__in=allowed)
        qs = qs.filter(org_wide=False, departments__in=allowed).exclude(departments__in=outside).distinct()
    return qs.order_by("-created_at", "-id")


def report_get(*, user: User, pk: int) -> Report | None:
    report = Report.objects.filter(pk=pk).prefetch_related("departments").first()
    if report is None or not report_visible_to(report=report, user=user):
        return None
    return report


def data_state(*, department_ids: DepartmentIds, period: Period) -> dict[str, Any]:
    """What the report's numbers depend on, in six queries: counts and last changes."""
    responses = response_queryset(
        department_ids=department_ids, filters=ResponseFilters(date_from=period.start, date_to=period.end)
    ).aggregate(n=Count("id"), last=Max("updated_at"))
    actions = _by_departments(ActionItem.objects.all(), department_ids).aggregate(
        n=Count("id"), last=Max("updated_at")
    )
    assumptions = RoiAssumption.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    # Governance rows keep a full history (simple-history): its latest date catches any edit.
    measures = SuccessMeasure.history.aggregate(n=Count("history_id"), last=Max("history_date"))
    actuals = MeasureActual.history.aggregate(n=Count("history_id"), last=Max("history_date"))
    moments = MissionMoment.history.aggregate(n=Count("history_id"), last=Max("history_date"))
    state = {
        "responses": responses,
        "actions": actions,
        "assumptions": assumptions,
        "measures": measures,
        "actuals": actuals,
        "moments": moments,
    }
    return state


# --- dashboards -------------------------------------------------------------------------


def dashboard_role(user: User) -> str:
    if user.is_executive:
        return "executive"
    if user.is_cx_leader or user.is_superuser:
        return "leader"
    return "department"


def dashboard(*, user: User, period: Period, minimum: int | None = None) -> dict[str, Any]:
    """The figures of ``user``'s dashboard; a fixed number of queries per role. ``minimum``:
    answers below which a score is "too few answers" (default 30), for the metric cards."""
    from . import charts

    role = dashboard_role(user)
    ids = scope_ids(user=user)
    trends = metric_trends(department_ids=ids, period=period, minimum=minimum, compare=True)
    data: dict[str, Any] = {
        "role": role,
        "period": period,
        "trends": trends,
        "charts": {m: charts.line_chart(trends[m]["series"], metric=m) for m in trends},
        "scope_departments": None if ids is None else departments_named(ids),
        "minimum": minimum or statistics.MIN_ANSWERS,
    }
    if role in ("leader", "department"):
        data["scorecard"] = scorecard(department_ids=ids)
        data["loops"] = loop_closure(department_ids=ids, period=period)
        data["rising"] = rising_themes(department_ids=ids)
        data["programs"] = programs_needing_attention(department_ids=ids)
    if role == "executive":
        data["scorecard"] = scorecard(department_ids=ids)
        data["roi"] = roi_summary(department_ids=ids, period=period)
        data["moments"] = featured_moments(department_ids=ids)
        data["maturity"] = maturity_trend()
        data["ex_cx"] = ex_next_to_cx(department_ids=ids, period=period)
        data["loops"] = loop_closure(department_ids=ids, period=period)
    return data


def _num(value: Any) -> Any:
    return "" if value is None else value


def _sized(row: dict[str, Any], *keys: str) -> list[Any]:
    """A metric row's cells; with too few answers only the count (never a score that means nothing)."""
    return [row["count"] if k == "count" else "" if row["small_sample"] else _num(row.get(k)) for k in keys]


def dashboard_table(*, user: User, period: Period, table: str) -> tuple[list[str], list[list[Any]]]:
    """One dashboard table as header + rows, for the CSV export."""
    ids = scope_ids(user=user)
    if table == "trends":
        trends = metric_trends(department_ids=ids, period=period)
        rows = [
            [
                m,
                r["group"],
                *_sized(r, "score", "count", "margin_of_error", "ci_low", "ci_high"),
                r["small_sample"],
                r["partial"],
            ]
            for m in metrics.METRICS
            for r in trends[m]["series"]
        ]
        header = ["metric", "month", "score", "count", "margin_of_error", "ci_low", "ci_high", "small_sample"]
        return [*header, "partial"], rows
    if table == "departments":
        rows = []
        for m in metrics.METRICS:
            for r in metric_results(
                department_ids=ids,
                metric=m,
                group_by="department",
                filters=ResponseFilters(date_from=period.start, date_to=period.end),
            ):
                rows.append(
                    [
                        m,
                        r["group"],
                        r["label"],
                        *_sized(r, "score", "count", "margin_of_error"),
                        r["small_sample"],
                    ]
                )
        return ["metric", "department", "name", "score", "count", "margin_of_error", "small_sample"], rows
    if table == "loops":
        loops = loop_closure(department_ids=ids, period=period)
        keys = [
            "loop",
            "created",
            "closed",
            "closure_rate",
            "time_to_close_days",
            "sla_on_time",
            "first_contact_on_time",
            "backlog",
            "overdue",
            "backlog_age_days",
            "oldest_days",
        ]
        return keys, [[_num(r[k]) for k in keys] for r in loops]
    if table == "themes":
        themes = rising_themes(department_ids=ids)
        return ["theme", "last_30_days", "previous_30_days", "rise"], [
            [t.name, t.recent, t.previous, t.rise] for t in themes
        ]
    if table == "programs":
        programs = programs_needing_attention(department_ids=ids)
        return ["program", "department", "issues"], [
            [p.name, p.department.name, "; ".join(p.reasons)] for p in programs
        ]
    if table == "scorecard":
        measures = scorecard(department_ids=ids)
        return [
            "measure",
            "kind",
            "baseline",
            "latest",
            "latest_period",
            "latest_count",
            "latest_source",
            "latest_reason",
            "target",
            "target_date",
            "progress_pct",
            "progress_reason",
            "finance_validated",
        ], [
            [
                m.name,
                m.kind,
                measure_figure(m.baseline_value, kind=m.kind, unit_text=m.unit),
                measure_figure(m.latest_value, kind=m.kind, unit_text=m.unit) if m.latest else "",
                m.latest.period if m.latest else "",
                _num(m.latest.count) if m.latest else "",
                m.latest.source if m.latest else "",
                _num(m.status.latest_reason),
                measure_figure(m.target_value, kind=m.kind, unit_text=m.unit),
                _num(m.target_date),
                _num(m.progress.percent),
                _num(m.progress.reason),
                m.is_validated,
            ]
            for m in measures
        ]
    if table == "roi":
        summary = roi_summary(department_ids=ids, period=period)
        rows = [
            [
                "inner loop: revenue retained",
                line["department__name"],
                line["recovered"],
                _num(line["amount"]),
                line["assumption"].segment if line["assumption"] else "",
                "validated" if line["validated"] else "UNVALIDATED",
            ]
            for line in summary["inner"]
        ] + [
            [
                "outer loop: cost avoided",
                line["action"].title,
                line["action"].before - line["action"].after,
                _num(line["amount"]),
                line["assumption"].segment if line["assumption"] else "",
                "validated" if line["validated"] else "UNVALIDATED",
            ]
            for line in summary["outer"]
        ]
        return ["line", "subject", "quantity", f"amount_{summary['currency']}", "segment", "validation"], rows
    if table == "excx":
        rows = [
            [
                r["slug"],
                r["name"],
                _num(r["cx"]["score"]),
                r["cx"]["count"],
                _num(r["ex"]["score"]),
                r["ex"]["count"],
            ]
            for r in ex_next_to_cx(department_ids=ids, period=period)
        ]
        return ["department", "name", "cx_nps", "cx_count", "ex_enps", "ex_count"], rows
    if table == "moments":
        return ["title", "kind", "department", "featured_at", "story"], [
            [m.title, m.kind, m.department.name, m.featured_at, m.story]
            for m in featured_moments(department_ids=ids, limit=100)
        ]
    if table == "maturity":
        return ["assessment", "assessed_on", "overall"], [
            [row.assessment.title, row.assessment.assessed_on, _num(row.overall)] for row in maturity_trend()
        ]
    raise ValueError(table)
