"""End-of-run figures (fault scenarios, authorization matrix, schemathesis, axe-core) that
print under pytest-xdist too.

Worker processes hold the raw figures; each dumps what it gathered to ``var/test-summary/``
at session end, and the controlling process (or a plain run) adds them up and prints them.
Registered from ``tests/conftest.py`` with ``pytest_plugins``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

SUMMARY_DIR = Path(__file__).resolve().parents[1] / "var" / "test-summary"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        shutil.rmtree(SUMMARY_DIR, ignore_errors=True)
    SUMMARY_DIR.mkdir(parents=True, exist_ok=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Dump this process's figures (only modules that ran here are in ``sys.modules``)."""
    data: dict[str, Any] = {}
    browser = sys.modules.get("tests.browser.conftest")
    if browser is not None and browser.A11Y_RESULTS:
        data["a11y"] = browser.A11Y_RESULTS
    security = sys.modules.get("tests.security.conftest")
    if security is not None and security.FUZZ_STATS["examples"]:
        stats = security.FUZZ_STATS
        data["fuzz"] = {
            "operations": sorted(stats["operations"]),
            "examples": stats["examples"],
            "server_errors": stats["server_errors"],
        }
    matrix = sys.modules.get("tests.security.test_authz_matrix")
    if matrix is not None:
        data["matrix"] = {"rows": len(matrix.MATRIX), "cells": matrix.CELLS}
    if data:
        name = os.environ.get("PYTEST_XDIST_WORKER", "main")
        (SUMMARY_DIR / f"{name}.json").write_text(json.dumps(data))


def _fault_line(terminalreporter: Any) -> str | None:
    from tests.reliability.scenarios import FAULT_SCENARIOS

    outcomes: dict[str, str] = {}
    for category in ("passed", "failed", "error", "xfailed", "xpassed", "skipped"):
        for report in terminalreporter.stats.get(category, []):
            nodeid = getattr(report, "nodeid", "")
            counts = getattr(report, "when", "call") == "call" or category in ("error", "skipped")
            if counts and outcomes.get(nodeid) not in ("failed", "error"):
                outcomes[nodeid] = category
    tried = survived = 0
    for prefixes in FAULT_SCENARIOS.values():
        ran = [o for nodeid, o in outcomes.items() if nodeid.startswith(tuple(prefixes)) and o != "skipped"]
        if ran:
            tried += 1
            survived += all(o == "passed" for o in ran)
    return f"fault scenarios survived: {survived}/{tried}" if tried else None


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    a11y: list[dict[str, Any]] = []
    operations: set[str] = set()
    examples = server_errors = 0
    matrix: dict[str, int] = {}
    for path in sorted(SUMMARY_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        a11y += data.get("a11y", [])
        if "fuzz" in data:
            operations.update(data["fuzz"]["operations"])
            examples += data["fuzz"]["examples"]
            server_errors += data["fuzz"]["server_errors"]
        matrix = data.get("matrix", matrix)
    lines = [_fault_line(terminalreporter)]
    if matrix:
        lines.append(f"authorization matrix: {matrix['rows']} rows, {matrix['cells']} cells")
    if examples:
        lines.append(
            f"schemathesis: {len(operations)} operations, {examples} examples, {server_errors} server errors"
        )
    if a11y:
        bad = sum(r["serious_or_critical"] for r in a11y)
        lines.append(f"axe-core: {len(a11y)} page checks, {bad} serious/critical violations")
    for line in filter(None, lines):
        terminalreporter.write_line(line)
