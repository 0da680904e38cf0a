"""Deliveries per source per minute, counted in Redis (shared by every web process) in batches.

Counting each delivery in Redis was a round trip and ~0.35 ms of a web worker's CPU per
delivery (redis-py's pipeline machinery), ~8 % of what a delivery costs. A process therefore
counts locally and adds its count to the shared one (``INCRBY`` + ``EXPIRE NX``, one round trip)
every ``FLUSH_EVERY`` deliveries or ``FLUSH_SECONDS``, whichever comes first. The estimate it
compares with the limit is the shared count it last read plus what it has not sent yet. That
is never more than the true count, so a refusal is always deserved. Close to the limit
(``EXACT_FROM`` of it) every delivery is counted in Redis at once, so the limit holds exactly
there. A process's estimate lags the true count by the other processes' unsent counts, at most
``FLUSH_EVERY`` each, so the exact zone starts ``EXACT_MARGIN`` below the limit (enough for five
processes) or at ``EXACT_FROM`` of it if that is lower: a small limit is counted exactly always.

Without Redis (the embedded default's local-memory cache) every delivery is counted in the
cache directly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

FLUSH_EVERY = 20
FLUSH_SECONDS = 0.25
EXACT_FROM = 0.8  # of the limit
EXACT_MARGIN = 4 * FLUSH_EVERY
WINDOW_TTL = 70  # seconds a window's shared count is kept (one-minute windows)


@dataclass
class _Window:
    shared: int = 0  # the shared count as last read from Redis
    unsent: int = 0  # deliveries this process counted and has not added to it yet
    sent_at: float = 0.0


class WindowCounter:
    """``count(key, limit)``: this delivery counted, and the best estimate of the window's total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def count(self, key: str, *, limit: int) -> int:
        backend = getattr(cache, "_cache", None)
        if not hasattr(backend, "get_client"):  # locmem: no round trip to save
            cache.add(key, 0, timeout=WINDOW_TTL)
            return int(cache.incr(key))
        now = time.monotonic()
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                self._forget_other_windows(key)
                window = self._windows[key] = _Window(sent_at=now)
            window.unsent += 1
            estimate = window.shared + window.unsent
            due = (
                window.unsent >= FLUSH_EVERY
                or now - window.sent_at >= FLUSH_SECONDS
                or estimate >= min(limit * EXACT_FROM, limit - EXACT_MARGIN)
            )
            if not due:
                return estimate
            unsent, window.unsent, window.sent_at = window.unsent, 0, now
        try:
            shared = _incr(backend, key, unsent)
        except Exception:
            with self._lock:  # not counted after all: keep it for the next send
                window.unsent += unsent
            raise
        with self._lock:
            window.shared = max(window.shared, shared)
            return window.shared + window.unsent

    def _forget_other_windows(self, key: str) -> None:
        """Keep the windows of the current minute only (keys end with the window number)."""
        minute = key.rsplit(":", 1)[-1]
        for old in [k for k in self._windows if k.rsplit(":", 1)[-1] != minute]:
            del self._windows[old]


def _incr(backend: Any, key: str, amount: int) -> int:
    """Add ``amount`` to ``key``'s shared count in one round trip; the new total."""
    client = getattr(backend, "_cxgov_client", None)
    if client is None:  # a redis.Redis on the cache's own pool, kept with that cache
        client = backend._cxgov_client = backend.get_client(write=True)
    pipe = client.pipeline(transaction=False)
    full_key = cache.make_and_validate_key(key)
    pipe.incrby(full_key, amount)
    pipe.expire(full_key, WINDOW_TTL, nx=True)
    total, _ = pipe.execute()
    return int(total)


deliveries = WindowCounter()
