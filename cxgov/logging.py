"""Structured log rendering that never prints secrets."""

from __future__ import annotations

import re
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(secret|token|password|authorization|signature|api[_-]?key|cookie)", re.I)


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace the value of any key that looks like a credential."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key):
            event_dict[key] = "[redacted]"
    return event_dict


render = structlog.processors.KeyValueRenderer(
    key_order=["timestamp", "level", "event", "request_id"], drop_missing=True
)

structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,  # drop what the level would drop, before any work
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        redact,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)


class KeyValueFormatter(structlog.stdlib.ProcessorFormatter):
    """Formats structlog and plain stdlib records alike, with credentials redacted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            *args,
            processor=render,
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                redact,
            ],
            **kwargs,
        )
