"""Demo data of the feedback app, from its areas: programs and sources, then the pipeline."""

from __future__ import annotations

import importlib


def seed() -> dict[str, int]:
    counts: dict[str, int] = {}
    for area in ("demo_intake", "demo_pipeline"):
        try:
            module = importlib.import_module(f"feedback.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"feedback.{area}":
                raise
            continue
        counts.update(module.seed())
    return counts
