"""``feedback.ratelimit``: deliveries counted in Redis in batches, exactly near the limit.

Runs against the suite's real Redis (the cache); two ``WindowCounter``s stand for two web
processes sharing it.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from feedback import ratelimit
from feedback.ratelimit import WindowCounter

pytestmark = pytest.mark.skipif(
    not hasattr(getattr(cache, "_cache", None), "get_client"), reason="needs the Redis cache"
)


@pytest.fixture
def key() -> str:
    return f"cxgov:intake-rate:test-{uuid.uuid4().hex}:{12345}"


def _shared(key: str) -> int | None:
    value = cache.get(key)
    return None if value is None else int(value)


def test_far_below_the_limit_a_process_sends_its_count_every_twenty_deliveries(key, monkeypatch):
    monkeypatch.setattr(ratelimit, "FLUSH_SECONDS", 60)
    counter = WindowCounter()
    estimates = [counter.count(key, limit=100_000) for _ in range(ratelimit.FLUSH_EVERY - 1)]
    assert estimates == list(range(1, ratelimit.FLUSH_EVERY))
    assert _shared(key) is None  # nothing sent yet: no round trip per delivery
    assert counter.count(key, limit=100_000) == ratelimit.FLUSH_EVERY
    assert _shared(key) == ratelimit.FLUSH_EVERY


def test_two_processes_admit_exactly_the_limit_between_them(key, monkeypatch):
    monkeypatch.setattr(ratelimit, "FLUSH_SECONDS", 60)
    a, b = WindowCounter(), WindowCounter()
    admitted = 0
    for i in range(300):
        counter = a if i % 2 else b
        admitted += counter.count(key, limit=200) <= 200
    assert admitted == 200
    assert _shared(key) == 300  # refused deliveries are counted too, as before


def test_a_small_limit_is_counted_in_redis_every_time(key):
    counter = WindowCounter()
    assert [counter.count(key, limit=3) for _ in range(4)] == [1, 2, 3, 4]
    assert _shared(key) == 4


def test_a_count_that_could_not_be_sent_is_sent_with_the_next(key, monkeypatch):
    monkeypatch.setattr(ratelimit, "FLUSH_SECONDS", 60)
    counter = WindowCounter()
    real = ratelimit._incr

    def down(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimit, "_incr", down)
    with pytest.raises(ConnectionError):
        counter.count(key, limit=2)  # near the limit: sent at once, and that fails
    monkeypatch.setattr(ratelimit, "_incr", real)
    assert counter.count(key, limit=2) == 2
    assert _shared(key) == 2
