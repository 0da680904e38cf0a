"""Shapes the report's figures for an A4 portrait page: no new figure is computed here.

The PDF must fit its page (no table past the margin, long names wrapped) and say plainly
what finance vouches for. So: the loop-closure table is turned (one row per figure, one
column per loop) instead of ten columns; ROI lines are split into validated and not yet
validated, each with its own total, instead of one total "including unvalidated"; ROI
assumptions are one column per segment, three segments a table; a systemic action's
verification is written as a sentence instead of a dump of its JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from missions.formatting import figure_format

from . import roi as roi_model


@dataclass
class RoiPart:
    """ROI lines whose assumptions are (or are not) validated by finance, and their total."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    total: Decimal = Decimal(0)


def roi_apart(roi: dict[str, Any]) -> dict[str, Any]:
    """Validated and unvalidated money figures apart; lines without an assumption carry none."""
    parts = {"validated": RoiPart(), "unvalidated": RoiPart()}
    unpriced: list[dict[str, Any]] = []
    for line in roi.get("inner", []):
        item = {
            "source": "Revenue retained",
            "what": (
                f"{line['department__name']}: {line['recovered']} of {line['detractors']} detractors "
                f"recovered ({line['contacted']} contacted)"
            ),
            **line,
        }
        _place(item, parts, unpriced)
    for line in roi.get("outer", []):
        action = line["action"]
        item = {
            "source": "Cost avoided",
            "what": (
                f"{action.title}: {action.before} contacts in the {roi.get('window_days')} days before "
                f"the fix, {action.after} after"
            ),
            **line,
        }
        _place(item, parts, unpriced)
    for part in parts.values():
        part.total = roi_model.money(part.total)
    return {"validated": parts["validated"], "unvalidated": parts["unvalidated"], "unpriced": unpriced}


def _place(item: dict[str, Any], parts: dict[str, RoiPart], unpriced: list[dict[str, Any]]) -> None:
    if item.get("assumption") is None or item.get("amount") is None:
        unpriced.append(item)
        return
    part = parts["validated" if item["validated"] else "unvalidated"]
    part.lines.append(item)
    part.total += item["amount"]


def assumption_groups(assumptions: list[Any], *, size: int = 3) -> list[list[Any]]:
    """Segments in groups of ``size``: one table each, a column per segment."""
    return [assumptions[i : i + size] for i in range(0, len(assumptions), size)]


# (label, key, unit) of the turned loop-closure table
LOOP_ROWS = (
    ("Actions opened in the period", "created", "count"),
    ("Actions closed in the period", "closed", "count"),
    ("Closure rate (closed of opened)", "closure_rate", "percent"),
    ("Mean days to close", "time_to_close_days", "mean"),
    ("Closed within the service-level agreement (SLA)", "sla_on_time", "percent"),
    ("First contact within the SLA", "first_contact_on_time", "percent"),
    ("Open today", "backlog", "count"),
    ("Overdue today", "overdue", "count"),
    ("Mean age of the open actions (days)", "backlog_age_days", "mean"),
)


def loop_rows(loops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per figure, one value per loop (inner, outer), formatted."""
    by_loop = {line["loop"]: line for line in loops}
    rows = []
    for label, key, unit in LOOP_ROWS:
        values = [figure_format(by_loop.get(loop, {}).get(key), unit=unit) for loop in ("inner", "outer")]
        rows.append({"label": label, "inner": values[0], "outer": values[1]})
    return rows


def _number(value: Any, unit: str = "mean") -> str:
    return figure_format(value, unit=unit)


def verification_words(action: Any) -> str:
    """What a systemic action's verification found, in words ("" before it was verified)."""
    result = getattr(action, "verification_result", None) or {}
    if not result:
        return ""
    days = result.get("period_days")
    span = f"{days} days before and after the fix" if days else "before and after the fix"
    before, after = result.get("before") or {}, result.get("after") or {}
    parts = []
    if "insights" in before or "insights" in after:
        parts.append(
            f"insights on the theme {_number(before.get('insights'), 'count')} → "
            f"{_number(after.get('insights'), 'count')}"
        )
    metric = result.get("metric")
    if metric and (before.get(metric) is not None or after.get(metric) is not None):
        parts.append(f"{metric.upper()} {_number(before.get(metric))} → {_number(after.get(metric))}")
    measure = result.get("measure") or {}
    if measure.get("name"):
        parts.append(f"{measure['name']} {_number(measure.get('before'))} → {_number(measure.get('after'))}")
    verdict = "moved the right way" if result.get("moved") else "did not move"
    found = "; ".join(parts) if parts else "no figures to compare"
    return f"{verdict.capitalize()} ({span}: {found})."


def top_actions(
    sections: list[dict[str, Any]], roi: dict[str, Any], *, limit: int = 10
) -> list[dict[str, Any]]:
    """The systemic actions of the report, those with a result first: what each moved."""
    contacts = {line["action"].pk: line for line in roi.get("outer", [])}
    seen: dict[int, Any] = {}
    for section in sections:
        for action in section.get("actions", []):
            seen.setdefault(action.pk, action)
    closed = {"fixed", "verified", "not_moved"}

    def rank(action: Any) -> tuple[int, int, int]:
        return (0 if action.verification_result else 1, 0 if action.status in closed else 1, -action.pk)

    out = []
    for action in sorted(seen.values(), key=rank)[:limit]:
        moved = verification_words(action)
        line = contacts.get(action.pk)
        if line is not None:
            before, after = line["action"].before, line["action"].after
            moved = (moved + " " if moved else "") + (
                f"Contacts on the theme: {before} in the {roi.get('window_days')} days before the fix, "
                f"{after} after."
            )
        out.append({"action": action, "moved": moved or "Not verified yet."})
    return out


def layout(data: dict[str, Any]) -> dict[str, Any]:
    """What the PDF template needs on top of ``selectors.report_data``."""
    roi = data.get("roi", {})
    sections = data.get("sections", [])
    for section in sections:
        section["loop_table"] = loop_rows(section.get("loops", []))
        section["loop_active"] = any(
            line.get("created") or line.get("closed") or line.get("backlog")
            for line in section.get("loops", [])
        )
        section["answered"] = any((r or {}).get("count") for r in section.get("summary", {}).values())
    return {
        "roi_parts": roi_apart(roi),
        "assumption_groups": assumption_groups(list(roi.get("assumptions", []))),
        "loop_table": loop_rows(data.get("loops", [])),
        "top_actions": top_actions(sections, roi),
    }
