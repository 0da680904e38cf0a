"""The after-commit relay thread (``feedback.relay.BatchRelay``): batches, and its linger."""

from __future__ import annotations

import threading
import time

from feedback.relay import BatchRelay


def _relay() -> tuple[BatchRelay, list[list[int]], threading.Event]:
    batches: list[list[int]] = []
    published = threading.Event()

    def publish(ids: list[int]) -> None:
        batches.append(list(ids))
        published.set()

    return BatchRelay(label="test relay", publish=publish, batch_size=3, ids_key="ids"), batches, published


def _wait_for(batches: list[list[int]], count: int) -> None:
    deadline = time.monotonic() + 5
    while sum(len(b) for b in batches) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def test_ids_committed_during_the_linger_share_one_publish(settings):
    settings.CXGOV_RELAY_LINGER_MS = 300
    relay, batches, _ = _relay()
    relay.put([1])
    time.sleep(0.05)  # another request commits while the first id waits
    relay.put([2])
    _wait_for(batches, 2)
    assert batches == [[1, 2]]


def test_without_a_linger_the_first_id_goes_at_once(settings):
    settings.CXGOV_RELAY_LINGER_MS = 0
    relay, batches, published = _relay()
    relay.put([1])
    assert published.wait(5)
    relay.put([2])
    _wait_for(batches, 2)
    assert batches == [[1], [2]]


def test_a_batch_never_exceeds_its_size(settings):
    settings.CXGOV_RELAY_LINGER_MS = 100
    relay, batches, _ = _relay()
    relay.put([1, 2, 3, 4, 5])
    _wait_for(batches, 5)
    assert batches == [[1, 2, 3], [4, 5]]
