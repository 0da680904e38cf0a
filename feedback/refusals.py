"""Refused deliveries: what is kept of them, how many, and for how long.

A refused delivery (401 bad signature, 413 too large, 415 wrong type, 429 over the source's
limit) is kept so an operator can see why an integration fails, but anyone on the internet can
send one, so what is kept is bounded three ways:

- **size**: the headers (secrets redacted) and the verdict, and only the first
  ``CXGOV_REFUSED_BODY_BYTES`` of the body (2 KB: enough to recognise a payload);
- **rate**: a client address's unauthenticated refusals are counted per minute; past
  ``CXGOV_INTAKE_REFUSALS_PER_ADDRESS`` the address is answered 429 and nothing is stored. A
  source keeps at most ``CXGOV_INTAKE_REFUSALS_KEPT_PER_MINUTE`` refusals of strangers a minute
  (many addresses), and as many again of its own authenticated refusals (a 400 keeps its whole
  body: the vendor is who it says it is, and the body is what to fix);
- **time**: ``refused_delivery_prune`` (beat, nightly) deletes refusals older than
  ``CXGOV_REFUSED_KEEP_DAYS``.

These counters are separate from the source's own rate limit, which counts authenticated
deliveries only (``feedback.intake._rate_limit_check``), so strangers cannot use up a vendor's
allowance or get it answered 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from enum import Enum

from django.conf import settings
from django.utils import timezone

from . import ratelimit
from .models import RawDelivery

log = logging.getLogger(__name__)

HEADERS_BUDGET = 4096  # characters of header names and values kept on a refusal
REFUSED_STATUSES = frozenset({401, 413, 415, 429})

refusals = ratelimit.WindowCounter()


class Keep(Enum):
    STORE = "store"  # store the refusal (bounded)
    DROP = "drop"  # reply as usual, store nothing (the source's quota of refusals is used up)
    THROTTLE = "throttle"  # this address refused too often: answer 429, store nothing


def refusal_keep(*, source_key: str, client: str, authenticated: bool) -> Keep:
    """Count this refusal and say what to do with it. Fails open to STORE (bounded anyway)
    when the cache is unreachable: the reply must not depend on Redis being up.

    ``source_key`` names the source in the counters (its id and token prefix)."""
    window = int(time.time() // 60)
    per_source = settings.CXGOV_INTAKE_REFUSALS_KEPT_PER_MINUTE
    try:
        if not authenticated:
            per_address = settings.CXGOV_INTAKE_REFUSALS_PER_ADDRESS
            key = f"cxgov:intake-refused-addr:{client or '-'}:{window}"
            if per_address and refusals.count(key, limit=per_address) > per_address:
                return Keep.THROTTLE
        who = "own" if authenticated else "strangers"
        key = f"cxgov:intake-refused-kept:{source_key}:{who}:{window}"
        if per_source and refusals.count(key, limit=per_source) > per_source:
            return Keep.DROP
    except Exception as exc:  # cache down
        log.warning("intake refusal limiter unavailable", extra={"error": str(exc)})
    return Keep.STORE


def retry_after() -> str:
    """Seconds until the current one-minute window ends."""
    return str(max(1, 60 - int(time.time() % 60)))


def body_kept(*, body: bytes, status_code: int, authenticated: bool) -> bytes:
    """A 400 of an authenticated delivery keeps its body; every other refusal a prefix."""
    if authenticated and status_code not in REFUSED_STATUSES:
        return body
    return body[: settings.CXGOV_REFUSED_BODY_BYTES]


def headers_bounded(headers: Mapping[str, str]) -> dict[str, str]:
    """Redacted headers cut to ``HEADERS_BUDGET`` characters in all (a stranger chooses them)."""
    kept: dict[str, str] = {}
    left = HEADERS_BUDGET
    for name, value in headers.items():
        room = left - len(name)
        if room <= 0:
            kept["x-cxgov-truncated"] = "1"
            break
        kept[name] = value[: min(room, 512)]
        left = room - len(kept[name])
    return kept


def refused_delivery_prune(*, keep: timedelta | None = None, batch: int = 10_000) -> int:
    """Delete refused deliveries received more than ``keep`` ago, ``batch`` rows per
    statement; the count deleted. Accepted deliveries are the responses' record and stay."""
    if keep is None:
        keep = timedelta(days=settings.CXGOV_REFUSED_KEEP_DAYS)
    old = RawDelivery.objects.filter(
        verdict=RawDelivery.Verdict.REJECTED, received_at__lt=timezone.now() - keep
    )
    deleted = 0
    while True:
        ids = list(old.order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        count, _per_model = RawDelivery.objects.filter(id__in=ids).delete()
        deleted += count
