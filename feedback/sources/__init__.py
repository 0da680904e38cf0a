"""Vendor adapters: one module per survey tool, each a small class with
``verify(...)`` and ``parse(...)`` and no database access (the intake service does that).

``ADAPTERS`` maps a ``Source.Kind`` value to its adapter instance.
"""

from __future__ import annotations

import importlib

from .base import (
    Adapter,
    CsvAdapter,
    CustomerIn,
    FetchRef,
    ParseResult,
    PayloadError,
    ResponseIn,
    RowResult,
    SignatureError,
    SourceConfig,
    UnsupportedMediaType,
)

__all__ = [
    "ADAPTERS",
    "Adapter",
    "CsvAdapter",
    "CustomerIn",
    "FetchRef",
    "ParseResult",
    "PayloadError",
    "ResponseIn",
    "RowResult",
    "SignatureError",
    "SourceConfig",
    "UnsupportedMediaType",
    "adapter_for",
]

KINDS = [
    "generic",
    "csv",
    "typeform",
    "qualtrics",
    "qualtrics_csv",
    "surveymonkey",
    "delighted",
    "formbricks",
    "zendesk",
    "helpscout",
    "intercom",
]


def adapter_for(kind: str) -> Adapter:
    """The adapter for a source kind (module ``feedback.sources.<kind>`` exposes ``adapter``)."""
    module = importlib.import_module(f"feedback.sources.{kind}")
    return module.adapter
