"""Results: one row per figure, written as RESULTS.md and results.json and printed."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass
class Figure:
    """A measured figure next to its baseline. ``value is None`` means "not measured"."""

    key: str
    name: str
    unit: str = ""
    value: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)
    not_measured: str = ""
    seconds: float = 0.0

    @classmethod
    def skipped(cls, key: str, name: str, goal: str, why: str) -> Figure:
        return cls(key=key, name=name, goal=goal, not_measured=why)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def previous(mode: str) -> tuple[list[Figure], str, list[str]]:
    """Figures, date and notes of the last run in this mode (kept when only some are re-measured)."""
    suffix = "" if mode == "full" else f"-{mode}"
    path = HERE / f"results{suffix}.json"
    if not path.exists():
        return [], "", []
    data = json.loads(path.read_text())
    return [Figure(**f) for f in data.get("figures", [])], data.get("date", ""), data.get("notes", [])


def table(figures: list[Figure]) -> str:
    lines = [
        "| # | figure | value | baseline | ratio | goal | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, f in enumerate(figures, 1):
        if f.not_measured:
            lines.append(f"| {i} | {f.name} | not measured: {f.not_measured} | | | {f.goal} | — |")
            continue
        met = "—" if f.met is None else ("yes" if f.met else "**no**")
        baseline = (
            f"{_fmt(f.baseline, f.unit)} ({f.baseline_name})" if f.baseline_name else _fmt(f.baseline, f.unit)
        )
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        lines.append(
            f"| {i} | {f.name} | {_fmt(f.value, f.unit)} | {baseline} | {ratio} | {f.goal} | {met} |"
        )
    return "\n".join(lines)


def write(
    *, figures: list[Figure], mode: str, data: dict[str, Any], started: datetime, notes: list[str]
) -> str:
    """Full runs write RESULTS.md/results.json (committed); quick runs write *-quick files."""
    suffix = "" if mode == "full" else f"-{mode}"
    facts = machine()
    finished = datetime.now(UTC)
    meta = {
        "mode": mode,
        "date": finished.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": facts,
        "data": data,
        "duration_seconds": round((finished - started).total_seconds(), 1),
    }
    (HERE / f"results{suffix}.json").write_text(
        json.dumps({**meta, "figures": [asdict(f) for f in figures], "notes": notes}, indent=2, default=str)
        + "\n"
    )
    body = table(figures)
    details = []
    for i, f in enumerate(figures, 1):
        if f.details:
            pairs = ", ".join(f"{k}={v}" for k, v in f.details.items())
            details.append(f"- **{i}. {f.name}**: {pairs}")
    md = [
        "# Benchmark results",
        "",
        f"- mode: `{mode}`; date: {meta['date']}; commit: `{meta['commit']}`; "
        f"run took {meta['duration_seconds']} s",
        f"- machine: {facts['cores']} cores ({facts['cpu']}), {facts['memory_gb']} GB RAM, "
        f"Python {facts['python']}",
        f"- data: {', '.join(f'{k} {v:,}' for k, v in data.items() if isinstance(v, int))}",
        "- each figure is measured next to its baseline in the same run; the ratio is what to compare "
        "between runs (this machine is noisy, ±20 %).",
        "",
        body,
        "",
        "## Details",
        "",
        *details,
    ]
    if notes:
        md += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    (HERE / f"RESULTS{suffix}.md").write_text("\n".join(md) + "\n")
    return body
