"""The after-commit relay thread (``cxgov.relay.BatchRelay``): batches, and its linger."""

from __future__ import annotations

import threading
import time

from cxgov.relay import BatchRelay


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
    relay, batches, published = _relay()
    relay.put([1])
    assert published.wait(5)
    relay.put([2])  # ids keep coming: this one waits for the linger
    time.sleep(0.05)  # another request commits while it waits
    relay.put([3])
    _wait_for(batches, 3)
    assert batches == [[1], [2, 3]]


def test_after_a_quiet_spell_an_id_goes_at_once(settings):
    settings.CXGOV_RELAY_LINGER_MS = 2000
    relay, batches, published = _relay()
    relay.put([1])
    assert published.wait(1), "the first id of a quiet process waited for the linger"
    deadline = time.monotonic() + 5
    while relay._published_at == float("-inf") and time.monotonic() < deadline:
        time.sleep(0.005)  # the thread notes when its publish ended just after it returns
    relay._published_at -= 2.5  # as if the last publish had ended longer than the linger ago
    published.clear()
    relay.put([2])
    assert published.wait(1), "an id after a quiet spell waited for the linger"
    assert batches == [[1], [2]]


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
