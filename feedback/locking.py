"""How the pipeline waits for its locks inside a batch, so two batches never deadlock.

A batch (``response_process_batch``) holds every lock it takes until its one commit: the
(theme, department) advisory locks of clustering and the round-robin cursor's row. Two batches
taking those in different orders would deadlock. So inside a batch a lock is waited for only
while the batch holds none of them yet; once it holds one, it only *tries* the next, and a
busy lock raises ``LockBusy``: that response's savepoint rolls back and it is processed again
on its own after the batch commits (where waiting is safe: it holds nothing else).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


class LockBusy(Exception):
    """Another transaction holds a lock this batch must not wait for."""


@dataclass
class _Batch:
    holds_locks: bool = False
    memo: dict[object, Any] = field(default_factory=dict)


_BATCH: ContextVar[_Batch | None] = ContextVar("cxgov_pipeline_batch", default=None)


@contextmanager
def lock_batch() -> Iterator[None]:
    """Mark the work inside as one batch transaction (see the module docstring)."""
    token = _BATCH.set(_Batch())
    try:
        yield
    finally:
        _BATCH.reset(token)


def lock_may_wait() -> bool:
    """Whether the caller may block on its next lock (not in a batch, or holding none yet)."""
    batch = _BATCH.get()
    return batch is None or not batch.holds_locks


def lock_taken() -> None:
    """Record that the current batch now holds a lock until it commits."""
    batch = _BATCH.get()
    if batch is not None:
        batch.holds_locks = True


def batch_memo() -> dict[object, Any] | None:
    """A dict that lives as long as the current batch transaction (None outside a batch): what
    one batch may read once for all its responses, e.g. a department's fallback owner."""
    batch = _BATCH.get()
    return None if batch is None else batch.memo
