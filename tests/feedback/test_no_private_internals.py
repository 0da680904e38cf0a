"""Speed from public APIs only (issue 25, DESIGN.md "Simple over clever"): the product code
reaches into none of Django's private internals the removed speed-ups used, and nothing swaps
the middleware setting at run time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["cxgov", "charter", "missions", "feedback", "reports"]
FORBIDDEN = {
    "klass_info": re.compile(r"klass_info"),
    "get_related_populators": re.compile(r"get_related_populators"),
    "_state.fields_cache": re.compile(r"_state\.fields_cache"),
    "PREPARE": re.compile(r"\bPREPARE\b"),
    "settings.MIDDLEWARE =": re.compile(r"settings\.MIDDLEWARE\s*(\[[^\]]*\]\s*)?[+]?=(?!=)"),
}


def _product_files() -> list[Path]:
    return [p for app in PRODUCT for p in sorted((ROOT / app).rglob("*.py")) if "migrations" not in p.parts]


def test_the_product_tree_is_found():
    files = _product_files()
    assert len(files) > 50
    assert ROOT / "feedback" / "intake.py" in files


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_no_product_module_uses(name):
    pattern = FORBIDDEN[name]
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _product_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not hits, "\n".join(hits)


def test_the_check_would_catch_a_middleware_swap():
    assert FORBIDDEN["settings.MIDDLEWARE ="].search("    settings.MIDDLEWARE = settings.INTAKE_MIDDLEWARE")
    assert FORBIDDEN["settings.MIDDLEWARE ="].search("settings.MIDDLEWARE += ['x']")
    assert not FORBIDDEN["settings.MIDDLEWARE ="].search("if settings.MIDDLEWARE == []:")
