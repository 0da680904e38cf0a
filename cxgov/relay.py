"""A thread that publishes, in batches, the ids that after-commit hooks hand it.

The outbox, the notifications, the customer e-mails (``feedback``) and the inbox e-mails
(``charter``) all record work in the caller's transaction and publish it after the commit.
Publishing in the caller's thread would make a request wait on the broker, and hang while
Redis is down; so each has one daemon
thread per process that takes what commits queued, up to a batch at a time (under load many
ids wait together and share one publish), and hands the batch to ``publish``. A batch that
cannot be published is logged and left to that mechanism's own sweeper or retry beat.

While ids keep coming, the thread lingers (``CXGOV_RELAY_LINGER_MS``, 100 ms by default) after
the first id of a batch, so that the ids committed meanwhile share its publish: a publish costs
~1.5-2.5 ms of the web worker's CPU (one UPDATE, one broker message) whatever the batch size,
which one id per publish spent on every request. An id that arrives after a quiet spell (no
publish ended within the linger) goes at once: a quiet process pays no latency, a busy one
publishes about rate x linger ids at a time.

The thread's database connection is checked (``close_old_connections``: a health-check
round trip on next use) after an error and every 30 s, not after every batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)

CONNECTION_CHECK_SECONDS = 30


class BatchRelay:
    """``put(ids)`` from any thread; a daemon thread (started on first use, and again if it
    died) calls ``publish(batch)`` with at most ``batch_size`` ids in the order queued.
    ``label`` names the thread (``cxgov-<label>``) and its warning ("<label> could not publish")."""

    def __init__(
        self, *, label: str, publish: Callable[[list[int]], object], batch_size: int, ids_key: str
    ) -> None:
        self.name = "cxgov-" + label.replace(" ", "-")
        self.failed_message = f"{label} could not publish"
        self.publish = publish
        self.batch_size = batch_size
        self.ids_key = ids_key  # what the ids are called in the warning's extra fields
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._published_at = float("-inf")  # when the last publish ended (monotonic)

    def put(self, ids: Iterable[int]) -> None:
        self._ensure_thread()
        for item in ids:
            self._queue.put(item)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def _take(self) -> list[int]:
        batch = [self._queue.get()]
        linger = settings.CXGOV_RELAY_LINGER_MS / 1000
        busy = time.monotonic() - self._published_at < linger  # ids came while it published
        if busy and self._queue.qsize() < self.batch_size - 1:
            time.sleep(linger)  # let what other requests are committing join this publish
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        checked = time.monotonic()
        while True:
            batch = self._take()
            failed = False
            try:
                self.publish(batch)
            except Exception as exc:  # broker or database down: the sweeper / retry beat has it
                failed = True
                log.warning(self.failed_message, extra={self.ids_key: batch, "error": str(exc)})
            self._published_at = time.monotonic()
            if failed or time.monotonic() - checked > CONNECTION_CHECK_SECONDS:
                close_old_connections()
                checked = time.monotonic()
