"""Metric formulas: aggregates in the database, arithmetic in small pure functions.

- NPS = % promoters − % detractors, from ``nps_band`` (bands already account for each
  response's scale), −100..100; 95 % margin of error 1.96·sqrt((p + d − (p − d)²)/n)·100.
- CSAT = % of responses in the high band (the top two boxes of the scale).
- CES = mean score normalised onto 1–7 (a 1–5 answer of 5 counts as 7). **Lower is better.**
- CSAT carries its 95 % margin (proportion), CES its Student-t confidence interval
  (``reports.statistics``).
- Fewer than ``SMALL_SAMPLE`` answers: ``small_sample`` (pages show "n = 2: too few answers").
- Month groups carry ``partial``: true while the month is not over.
- No answers: score ``None`` and count 0 — never a made-up zero.

Every aggregate is one SQL query over ``Response``: Python never loops over responses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, StdDev, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils import timezone

from feedback.models import Band, Response

from . import statistics

METRICS = ("nps", "csat", "ces")
GROUP_BYS = ("month", "department", "program", "touchpoint", "source")
GROUP_BY_SEPARATOR = ","
SMALL_SAMPLE = statistics.MIN_ANSWERS
DIRECTION = {"nps": "higher is better", "csat": "higher is better", "ces": "lower effort is better"}


# --- pure arithmetic --------------------------------------------------------------------


def round1(value: float | None) -> float | None:
    """One decimal, half up: the API, the dashboard and the PDF all show this same number."""
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def nps_score(*, promoters: int, passives: int, detractors: int) -> float | None:
    n = promoters + passives + detractors
    if n == 0:
        return None
    return 100.0 * (promoters - detractors) / n


def nps_margin_of_error(*, promoters: int, passives: int, detractors: int) -> float | None:
    """95 % margin of error of an NPS in points: 1.96·sqrt((p + d − (p − d)²)/n)·100."""
    n = promoters + passives + detractors
    if n == 0:
        return None
    p, d = promoters / n, detractors / n
    variance = p + d - (p - d) ** 2
    return 1.96 * math.sqrt(max(variance, 0.0) / n) * 100


def csat_score(*, high: int, count: int) -> float | None:
    return 100.0 * high / count if count else None


def month_partial(month_start: Any, *, today: Any = None) -> bool:
    """Whether the month starting at ``month_start`` (date or datetime) is not over yet."""
    today = today or timezone.now().date()
    first = month_start.date() if hasattr(month_start, "date") and callable(month_start.date) else month_start
    return (first.year, first.month) >= (today.year, today.month)


def result_row(
    *,
    metric: str,
    group: str | None,
    label: str | None,
    agg: dict[str, Any],
    minimum: int | None = None,
) -> dict[str, Any]:
    """Shape one aggregate row (as returned by the database) into the public result."""
    count = int(agg.get("count") or 0)
    row: dict[str, Any] = {"group": group, "label": label, "count": count}
    if metric == "nps":
        pro, pas, det = (
            int(agg.get("promoters") or 0),
            int(agg.get("passives") or 0),
            int(agg.get("detractors") or 0),
        )
        row.update(
            score=round1(nps_score(promoters=pro, passives=pas, detractors=det)),
            promoters=pro,
            passives=pas,
            detractors=det,
            margin_of_error=round1(nps_margin_of_error(promoters=pro, passives=pas, detractors=det)),
        )
    elif metric == "csat":
        high = int(agg.get("high") or 0)
        est = statistics.csat_estimate(satisfied=high, n=count)
        row.update(
            score=round1(csat_score(high=high, count=count)),
            satisfied=high,
            margin_of_error=round1(est.margin),
        )
    else:
        sd = agg.get("sd")
        est = statistics.ces_estimate(mean=agg.get("mean"), sd=float(sd) if sd is not None else None, n=count)
        row.update(
            score=round1(agg.get("mean")) if count else None,
            sd=round(float(sd), 3) if sd is not None else None,
            ci_low=round1(est.ci_low),
            ci_high=round1(est.ci_high),
        )
    row["small_sample"] = statistics.too_few(count, minimum=minimum)
    return row


# --- database aggregation ---------------------------------------------------------------


def _scale_bound(metric: str, index: int, default: int) -> Coalesce:
    return Coalesce(
        Cast(KeyTextTransform(str(index), KeyTransform(metric, "scales")), FloatField()),
        Value(float(default)),
    )


def ces_on_seven() -> Any:
    """The CES score normalised onto 1–7 in SQL, using the scale stored with the response."""
    lo, hi = _scale_bound("ces", 0, 1), _scale_bound("ces", 1, 7)
    return Value(1.0) + Value(6.0) * (Cast(F("ces"), FloatField()) - lo) / (hi - lo)


def aggregates(metric: str) -> dict[str, Any]:
    """The aggregate expressions of ``metric`` (usable in ``aggregate`` or grouped ``annotate``)."""
    if metric == "nps":
        answered = Q(nps__isnull=False) & ~Q(nps_band="")
        return {
            "count": Count("id", filter=answered),
            "promoters": Count("id", filter=Q(nps_band=Band.PROMOTER)),
            "passives": Count("id", filter=Q(nps_band=Band.PASSIVE)),
            "detractors": Count("id", filter=Q(nps_band=Band.DETRACTOR)),
        }
    if metric == "csat":
        return {
            "count": Count("id", filter=Q(csat__isnull=False)),
            "high": Count("id", filter=Q(csat__isnull=False, csat_band=Band.HIGH)),
        }
    if metric == "ces":
        return {
            "count": Count("id", filter=Q(ces__isnull=False)),
            "mean": Avg(ces_on_seven(), filter=Q(ces__isnull=False)),
            "sd": StdDev(ces_on_seven(), sample=True, filter=Q(ces__isnull=False)),
        }
    raise ValueError(f"unknown metric {metric!r}")


_GROUP_FIELDS: dict[str, tuple[str, str]] = {
    "department": ("department__slug", "department__name"),
    "program": ("program__slug", "program__name"),
    "source": ("source__slug", "source__name"),
    "touchpoint": ("touchpoint__slug", "touchpoint__name"),
}


def metric_summary(*, responses: QuerySet[Response], metric: str) -> dict[str, Any]:
    """One figure over ``responses`` (one query)."""
    agg = responses.aggregate(**aggregates(metric))
    return result_row(metric=metric, group=None, label=None, agg=agg)


def metric_groups(*, responses: QuerySet[Response], metric: str, group_by: str) -> list[dict[str, Any]]:
    """One row per group with at least one answer to ``metric`` (one query), ordered by group."""
    qs = responses.order_by()
    if group_by == "month":
        rows = (
            qs.annotate(g=TruncMonth("submitted_at"))
            .values("g")
            .annotate(**aggregates(metric))
            .filter(count__gt=0)
            .order_by("g")
        )
        out = []
        for r in rows:
            row = result_row(metric=metric, group=f"{r['g']:%Y-%m}", label=f"{r['g']:%b %Y}", agg=r)
            row["partial"] = month_partial(r["g"])
            out.append(row)
        return out
    if group_by not in _GROUP_FIELDS:
        raise ValueError(f"unknown group_by {group_by!r}")
    key, label = _GROUP_FIELDS[group_by]
    rows = qs.values(key, label).annotate(**aggregates(metric)).filter(count__gt=0).order_by(label, key)
    out = []
    for r in rows:
        group = r[key]
        name = r[label]
        if group is None and group_by == "touchpoint":
            group, name = "", "No touchpoint"
        elif group is None:
            group, name = "", "Unassigned"
        out.append(result_row(metric=metric, group=group, label=name, agg=r))
    return out


def group_by_parse(value: str) -> tuple[str, ...]:
    """``"month,department"`` → ``("month", "department")``: known dimensions, each once.

    Raises ``ValueError`` with a message meant for the caller of the API.
    """
    parts = tuple(part.strip() for part in value.split(GROUP_BY_SEPARATOR))
    unknown = [part for part in parts if part not in GROUP_BYS]
    if unknown or not parts:
        raise ValueError(
            f"{unknown[0]!r} is not a valid choice: use one of {', '.join(GROUP_BYS)}, "
            "or several separated by commas (e.g. month,department)."
        )
    if len(set(parts)) != len(parts):
        raise ValueError("Name each dimension once.")
    return parts


def _dimension_labels(dimension: str, ids: set[Any]) -> dict[Any, tuple[str, str]]:
    """Slug and name of the departments/programs/sources/touchpoints behind ``ids`` (one small query)."""
    from charter.models import Department, Touchpoint
    from feedback.models import Program, Source

    model = {"department": Department, "program": Program, "source": Source, "touchpoint": Touchpoint}[
        dimension
    ]
    rows = model.objects.filter(id__in=[i for i in ids if i is not None]).values_list("id", "slug", "name")
    return {pk: (slug, name) for pk, slug, name in rows}


def metric_groups_multi(
    *,
    responses: QuerySet[Response] | Sequence[QuerySet[Response]],
    metric: str,
    dimensions: tuple[str, ...],
    known_labels: dict[str, dict[Any, tuple[str, str]]] | None = None,
) -> list[dict[str, Any]]:
    """One row per combination of ``dimensions`` with at least one answer to ``metric``.

    The aggregate is one statement grouped by the month expression and the foreign-key
    columns themselves (no join), the shape of a hand-written ``GROUP BY month,
    department_id``: with a department condition it is an index-only scan of the covering
    index of ``feedback/migrations/0005``. Several querysets are aggregated as one
    ``UNION ALL`` (the caller makes sure their groups never overlap). Slugs and names come
    from ``known_labels`` or one small query per non-month dimension. Each dimension sorts as
    it does alone (months in order, the others by name then slug, unassigned last);
    ``group``/``label`` join the parts in the order asked.
    """
    columns = {d: ("g_month" if d == "month" else f"{d}_id") for d in dimensions}
    grouped = []
    for qs in [responses] if isinstance(responses, QuerySet) else responses:
        qs = qs.order_by()
        if "month" in dimensions:
            qs = qs.annotate(g_month=TruncMonth("submitted_at"))
        grouped.append(qs.values(*columns.values()).annotate(**aggregates(metric)).filter(count__gt=0))
    rows = list(grouped[0].union(*grouped[1:], all=True) if len(grouped) > 1 else grouped[0])
    known = known_labels or {}
    labels = {
        d: known[d] if d in known else _dimension_labels(d, {r[col] for r in rows})
        for d, col in columns.items()
        if d != "month"
    }

    seen: dict[tuple[str, Any], tuple[str, str]] = {}

    def part(dimension: str, value: Any) -> tuple[str, str]:
        """Key and label of one dimension's value, formatted once per distinct value."""
        if (dimension, value) in seen:
            return seen[(dimension, value)]
        if dimension == "month":
            found = f"{value:%Y-%m}", f"{value:%b %Y}"
        elif value is None:
            found = "", "No touchpoint" if dimension == "touchpoint" else "Unassigned"
        else:
            found = labels[dimension].get(value, ("", "Unassigned"))
        seen[(dimension, value)] = found
        return found

    out = []
    for r in rows:
        parts = {d: part(d, r[col]) for d, col in columns.items()}
        row = result_row(
            metric=metric,
            group=GROUP_BY_SEPARATOR.join(key for key, _ in parts.values()),
            label=" · ".join(name for _, name in parts.values()),
            agg=r,
        )
        if "month" in columns:
            row["partial"] = month_partial(r[columns["month"]])
        row["groups"] = {d: key for d, (key, _) in parts.items()}
        row["labels"] = {d: name for d, (_, name) in parts.items()}
        sort_key = []
        for d, col in columns.items():
            key, name = parts[d]
            sort_key.append((r[col],) if d == "month" else (r[col] is None, name, key))
        out.append((tuple(sort_key), row))
    out.sort(key=lambda pair: pair[0])
    return [row for _, row in out]


def all_metric_summaries(*, responses: QuerySet[Response]) -> dict[str, dict[str, Any]]:
    """NPS, CSAT and CES over the same responses in a single query."""
    exprs: dict[str, Any] = {}
    for metric in METRICS:
        exprs.update({f"{metric}__{k}": v for k, v in aggregates(metric).items()})
    agg = responses.aggregate(**exprs)
    return {
        metric: result_row(
            metric=metric,
            group=None,
            label=None,
            agg={k.split("__", 1)[1]: v for k, v in agg.items() if k.startswith(metric + "__")},
        )
        for metric in METRICS
    }


def scores_only(rows: Iterable[dict[str, Any]]) -> list[float | None]:
    return [r["score"] for r in rows]
