"""A no-op Celery task: the floor any real task's throughput is compared with.

It only counts itself in Redis, so the runner can see when a burst has drained; that one
INCR is the least a task can do and still be observed.
"""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings

COUNTER_KEY = "cxgov:bench:noop"
_client: redis.Redis | None = None


def counter() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


@shared_task(ignore_result=True, acks_late=True, name="bench.tasks.noop_task")
def noop_task() -> None:
    counter().incr(COUNTER_KEY)
