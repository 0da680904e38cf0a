"""The finance partner's validation queue, and the questions finance returned to the CX leader.

Two kinds of figure wait for finance: success measures (baseline, target, money
assumptions) and ROI assumptions. The queue lists every unvalidated one, longest waiting
first, with what changed since finance last validated it (old -> new, who, when), read
from the audit trail (django-simple-history). A returned figure stays in the queue, marked,
until the CX leader answers by editing it and finance validates it.

Reads only; the writes are ``missions.services.success_measure_validate/_return`` and
``reports.services.roi_assumption_validate/_return``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.db.models import F, Model, QuerySet, Value
from django.urls import reverse

from charter.models import Department, DepartmentGoal, User
from missions.formatting import figure_format, measure_figure
from missions.models import FinanceValidated, SuccessMeasure

from .models import RoiAssumption

Kind = Literal["measure", "assumption"]
KINDS: dict[str, type[FinanceValidated]] = {"measure": SuccessMeasure, "assumption": RoiAssumption}


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Change:
    """One recorded edit: who made it, when, and the meaning fields it changed."""

    who: str
    when: datetime
    fields: list[FieldChange]
    created: bool = False


@dataclass
class QueueItem:
    kind: Kind
    figure: FinanceValidated
    title: str
    waiting_since: datetime | None
    last_validation: Any | None  # the audit record of the last validation, if any
    changes: list[Change] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """The figure as it is now, in its own units: what finance is asked to vouch for."""
        f = self.figure
        if isinstance(f, SuccessMeasure):

            def shown(value: Any) -> str:
                return measure_figure(value, kind=f.kind, unit_text=f.unit)

            parts = [f"{f.get_kind_display()}, {f.get_direction_display().lower()}"]
            base = shown(f.baseline_value)
            if f.baseline_date:
                base += f" on {f.baseline_date:%-d %b %Y}"
            parts.append(f"baseline {base}")
            target = shown(f.target_value)
            if f.target_date:
                target += f" by {f.target_date:%-d %b %Y}"
            parts.append(f"target {target}")
            if f.owner_department:
                parts.append(f"owned by {f.owner_department.name}")
            return "; ".join(parts)
        assert isinstance(f, RoiAssumption)

        def money(value: Any) -> str:
            return figure_format(value, unit="money", currency=f.currency)

        def pct(value: Any) -> str:
            return figure_format(value, unit="percent")

        whose = (
            f"Customers of {f.department.name}"
            if f.department
            else "Default segment (customers of departments without a segment of their own)"
        )
        return (
            f"{whose}; customer value per year {money(f.customer_value_per_year)}; "
            f"yearly churn of detractors {pct(f.churn_rate_detractor)}, passives "
            f"{pct(f.churn_rate_passive)}, promoters {pct(f.churn_rate_promoter)}; cost per contact "
            f"{money(f.cost_per_contact)}; cost to serve {money(f.cost_to_serve)} a year"
        )

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.figure.pk}"

    @property
    def kind_label(self) -> str:
        return "Success measure" if self.kind == "measure" else "ROI assumptions"

    @property
    def url(self) -> str:
        if self.kind == "measure":
            return reverse("missions:measure-detail", kwargs={"pk": self.figure.pk})
        return reverse("reports:roi-assumptions") + f"#assumption-{self.figure.pk}"

    @property
    def edit_url(self) -> str:
        if self.kind == "measure":
            return reverse("missions:measure-edit", kwargs={"pk": self.figure.pk})
        return reverse("reports:roi-assumption-edit", kwargs={"pk": self.figure.pk})


def _label(model: type[Model], name: str) -> str:
    return str(model._meta.get_field(name).verbose_name).capitalize()


def _shown(value: Any, name: str, names: dict[str, dict[Any, str]]) -> str:
    if value is None or value == "":
        return "—"
    if name in names:
        return names[name].get(value, f"#{value}")
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _field_values(record: Any, model: type[FinanceValidated]) -> dict[str, Any]:
    out = {}
    for name in model.MEANING_FIELDS:
        f = model._meta.get_field(name)
        if f.many_to_many:
            continue  # m2m history is kept apart; the measure page shows the current scope
        out[name] = getattr(record, f.attname)
    return out


def _changes(
    records: list[Any], model: type[FinanceValidated], names: dict[str, dict[Any, str]]
) -> tuple[Any | None, list[Change], datetime | None]:
    """From a figure's audit records (oldest first): its last validation record, the edits
    after it that changed its meaning, and since when it has waited for finance."""
    last_validation_index = None
    for i, record in enumerate(records):
        if record.validated_at is not None and (i == 0 or records[i - 1].validated_at != record.validated_at):
            last_validation_index = i
    start = last_validation_index if last_validation_index is not None else 0
    changes: list[Change] = []
    if last_validation_index is None and records:
        first = records[0]
        changes.append(
            Change(who=str(first.history_user or "system"), when=first.history_date, fields=[], created=True)
        )
    previous = _field_values(records[start], model) if records else {}
    for record in records[start + 1 :]:
        values = _field_values(record, model)
        diffs = [
            FieldChange(
                _label(model, name), _shown(previous[name], name, names), _shown(values[name], name, names)
            )
            for name in values
            if values[name] != previous[name]
        ]
        previous = values
        if diffs:
            changes.append(
                Change(who=str(record.history_user or "system"), when=record.history_date, fields=diffs)
            )
    waiting_since = None
    if last_validation_index is None:
        waiting_since = records[0].history_date if records else None
    else:
        cleared = [r for r in records[last_validation_index + 1 :] if r.validated_at is None]
        waiting_since = cleared[0].history_date if cleared else None
    validation = records[last_validation_index] if last_validation_index is not None else None
    return validation, changes, waiting_since


def _history(model: type[FinanceValidated], ids: list[int]) -> dict[int, list[Any]]:
    by_id: dict[int, list[Any]] = defaultdict(list)
    if not ids:
        return by_id
    qs = (
        model.history.filter(id__in=ids).select_related("history_user").order_by("history_date", "history_id")
    )  # type: ignore[attr-defined]
    for record in qs:
        by_id[record.id].append(record)
    return by_id


def _names() -> dict[str, dict[Any, str]]:
    departments = dict(Department.objects.values_list("id", "name"))
    return {
        "department": departments,
        "owner_department": departments,
        "department_goal": {g.pk: str(g) for g in DepartmentGoal.objects.select_related("department")},
    }


def _items(measures: QuerySet[SuccessMeasure], assumptions: QuerySet[RoiAssumption]) -> list[QueueItem]:
    measure_list = list(measures.select_related("owner_department", "returned_by", "validated_by"))
    assumption_list = list(assumptions.select_related("department", "returned_by", "validated_by"))
    measure_history = _history(SuccessMeasure, [m.pk for m in measure_list])
    assumption_history = _history(RoiAssumption, [a.pk for a in assumption_list])
    names = _names()
    items = []
    for kind, figures, histories, model in (
        ("measure", measure_list, measure_history, SuccessMeasure),
        ("assumption", assumption_list, assumption_history, RoiAssumption),
    ):
        for figure in figures:
            validation, changes, since = _changes(histories.get(figure.pk, []), model, names)
            title = figure.name if kind == "measure" else figure.segment
            items.append(
                QueueItem(
                    kind=kind,  # type: ignore[arg-type]
                    figure=figure,
                    title=title,
                    waiting_since=since,
                    last_validation=validation,
                    changes=changes,
                )
            )
    return items


def validation_queue() -> list[QueueItem]:
    """Every figure waiting for finance, longest waiting first. Six queries."""
    items = _items(
        SuccessMeasure.objects.filter(validated_at__isnull=True),
        RoiAssumption.objects.filter(validated_at__isnull=True),
    )
    return sorted(items, key=lambda i: (i.waiting_since is None, i.waiting_since, i.kind, i.figure.pk))


def validation_queue_item(*, kind: str, pk: int) -> FinanceValidated | None:
    model = KINDS.get(kind)
    return None if model is None else model.objects.filter(pk=pk).first()


def returned_questions(*, user: User) -> list[dict[str, Any]]:
    """The questions finance returned, oldest first, for the CX leader's home page. One query."""
    if not (user.is_cx_leader or user.is_superuser):
        return []
    columns = (
        "queue_kind",
        "pk",
        "title",
        "returned_at",
        "return_question",
        "returned_by__first_name",
        "returned_by__last_name",
        "returned_by__username",
    )
    measures = (
        SuccessMeasure.objects.filter(returned_at__isnull=False)
        .annotate(queue_kind=Value("measure"), title=F("name"))
        .values(*columns)
        .order_by()  # no ORDER BY inside a UNION part (SQLite refuses it): ordered once below
    )
    assumptions = (
        RoiAssumption.objects.filter(returned_at__isnull=False)
        .annotate(queue_kind=Value("assumption"), title=F("segment"))
        .values(*columns)
        .order_by()
    )
    rows = list(measures.union(assumptions, all=True).order_by("returned_at", "pk"))
    for row in rows:
        full = f"{row['returned_by__first_name']} {row['returned_by__last_name']}".strip()
        row["returned_by"] = full or row["returned_by__username"] or "finance"
        if row["queue_kind"] == "measure":
            row["kind_label"] = "Success measure"
            row["edit_url"] = reverse("missions:measure-edit", kwargs={"pk": row["pk"]})
        else:
            row["kind_label"] = "ROI assumptions"
            row["edit_url"] = reverse("reports:roi-assumption-edit", kwargs={"pk": row["pk"]})
    return rows
