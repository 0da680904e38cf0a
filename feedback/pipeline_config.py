"""The pipeline's configuration, read once per worker process and re-read after any edit.

``response_process`` needs the active themes, routing rules, SLA policies, the actionability
and outer-loop policies, departments and touchpoints for every response. They change a few
times a month and are read thousands of times a minute, so each worker process keeps one
snapshot, keyed by ``PipelineConfigStamp.stamp``:

- every save or delete of those models (signals, below) and every bulk ``update()`` the
  settings services do (``pipeline_config_bump``) writes a fresh random stamp *in the
  editing transaction*: the edit and its stamp commit together (and roll back together);
- the processing task reads the stamp in the same statement that locks the response (no
  extra query), and re-reads the configuration when it differs from its snapshot's. So the
  first task that can see an edit also sees the new stamp and uses the edited configuration.

Owners are not cached: who is active, an ambassador or a leader changes without touching the
configuration, and an insight must never go to someone who has left, so routing reads the
owner fresh each time (one query). Round-robin cursors are not configuration either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models.signals import post_delete, post_save

from charter.models import Department, JourneyStage, Touchpoint

from .models import (
    ActionabilityPolicy,
    OuterLoopSettings,
    PipelineConfigStamp,
    RoutingRule,
    SLAPolicy,
    Theme,
)
from .sla import WorkCalendar

WATCHED = (
    RoutingRule,
    Theme,
    SLAPolicy,
    ActionabilityPolicy,
    OuterLoopSettings,
    Department,
    Touchpoint,
    JourneyStage,
)

# Saves that are state, not configuration (the round-robin cursor turns on every insight).
_NOT_CONFIGURATION: dict[type, frozenset[str]] = {RoutingRule: frozenset({"round_robin_cursor"})}


@dataclass(frozen=True)
class PipelineConfig:
    """An immutable snapshot; objects in it are shared by every task of the process: read only."""

    stamp: str | None
    themes: tuple[Theme, ...]  # active, by name (the order themes are reported and clustered in)
    theme_phrases: tuple[tuple[int, str], ...]  # (theme id, phrase) for the full-text matcher
    rules: tuple[RoutingRule, ...]  # active, evaluation order, department joined
    sla: dict[tuple[str, str], SLAPolicy]
    calendars: dict[tuple[str, str], WorkCalendar]
    policy: ActionabilityPolicy
    outer: OuterLoopSettings
    departments: tuple[Department, ...]  # by name, as ``Department.objects`` orders them
    touchpoints: tuple[Touchpoint, ...]  # department joined, in ``Touchpoint.objects`` order
    theme_by_id: dict[int, Theme] = field(default_factory=dict)


_cached: PipelineConfig | None = None


def pipeline_config_cached() -> PipelineConfig | None:
    """This process's snapshot, if any (maybe stale: compare its stamp with the database's)."""
    return _cached


def pipeline_config_load(*, stamp: str | None) -> PipelineConfig:
    """Read the configuration (7 queries) and keep it for this process under ``stamp``."""
    from .themes import theme_phrases

    global _cached
    themes = tuple(Theme.objects.filter(is_active=True).order_by("name"))
    rules = tuple(
        RoutingRule.objects.filter(is_active=True)
        .select_related("department")
        .order_by("is_default", "position", "id")
    )
    sla = {(p.priority, p.loop): p for p in SLAPolicy.objects.all()}
    config = PipelineConfig(
        stamp=stamp,
        themes=themes,
        theme_phrases=tuple((t.id, p) for t in themes for p in theme_phrases(t)),
        rules=rules,
        sla=sla,
        calendars={key: WorkCalendar.from_policy(p) for key, p in sla.items()},
        # Unsaved defaults when the rows do not exist yet: same values, no write in a read path.
        policy=ActionabilityPolicy.objects.filter(pk=1).first() or ActionabilityPolicy(pk=1),
        outer=OuterLoopSettings.objects.filter(pk=1).first() or OuterLoopSettings(pk=1),
        departments=tuple(Department.objects.order_by("name", "id")),
        touchpoints=tuple(
            Touchpoint.objects.select_related("department").order_by("stage__position", "position", "id")
        ),
        theme_by_id={t.id: t for t in themes},
    )
    if stamp is None:
        # No stamp row (e.g. a test flushed the table): put one back, but do not cache what
        # cannot be told apart from the next edit.
        PipelineConfigStamp.objects.get_or_create(pk=1, defaults={"stamp": uuid.uuid4().hex})
    else:
        _cached = config
    return config


def pipeline_config(*, stamp: str | None) -> PipelineConfig:
    """The snapshot for ``stamp`` (read in the caller's transaction), re-read if it changed."""
    cached = _cached
    if stamp is not None and cached is not None and cached.stamp == stamp:
        return cached
    return pipeline_config_load(stamp=stamp)


def pipeline_config_bump() -> None:
    """Mark the configuration changed (inside the editing transaction). One query."""
    new = uuid.uuid4().hex
    if not PipelineConfigStamp.objects.filter(pk=1).update(stamp=new):
        PipelineConfigStamp.objects.update_or_create(pk=1, defaults={"stamp": new})


def pipeline_config_forget() -> None:
    """Drop this process's snapshot (tests; the stamp makes it unnecessary otherwise)."""
    global _cached
    _cached = None


def _on_change(sender: type, update_fields: Any = None, **_kwargs: Any) -> None:
    if update_fields and frozenset(update_fields) <= _NOT_CONFIGURATION.get(sender, frozenset()):
        return
    pipeline_config_bump()


for _model in WATCHED:
    post_save.connect(_on_change, sender=_model, dispatch_uid=f"pipeline-config-{_model.__name__}")
    post_delete.connect(_on_change, sender=_model, dispatch_uid=f"pipeline-config-del-{_model.__name__}")
