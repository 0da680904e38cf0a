"""Helpers for adapter tests: adapters are pure, so these tests need no database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from feedback.sources import SourceConfig

TOKEN = "tok-123"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"


def fixture_bytes(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


def fixture_json(kind: str, name: str) -> Any:
    """A documented payload; the ``_source`` key (where it was copied from) is dropped."""
    data = json.loads(fixture_bytes(kind, name))
    if isinstance(data, dict):
        data.pop("_source", None)
    return data


def config(kind: str, *, token: str = TOKEN, **kwargs: Any) -> SourceConfig:
    return SourceConfig(
        kind=kind, slug=f"{kind}-src", token_hash=hashlib.sha256(token.encode()).hexdigest(), **kwargs
    )


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# Property tests: shared strategies and settings. ``deadline=None`` and no too_slow check
# because the machine is shared and timing is not what these tests are about.
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
header_dicts = st.dictionaries(st.text(max_size=24), st.text(max_size=60), max_size=5)


def parse_or_payload_error(
    adapter: Any, body: bytes, source: SourceConfig, headers: dict | None = None
) -> None:
    """Property-test body: any input either parses or raises ``PayloadError`` (never a 500)."""
    from feedback.sources import ParseResult, PayloadError

    try:
        result = adapter.parse(body=body, headers=headers or {}, source=source)
    except PayloadError:
        return
    assert isinstance(result, ParseResult)


def verify_or_signature_error(adapter: Any, body: bytes, headers: dict, source: SourceConfig) -> None:
    from feedback.sources import SignatureError

    try:
        adapter.verify(body=body, headers=headers, source=source)
    except SignatureError:
        return
