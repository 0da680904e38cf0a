"""Pipeline cost measured in-process, independent of machine load (issue 9, figure 2).

    PIPELINE_PROFILE_DATABASE_URL=postgres://... PIPELINE_PROFILE_REDIS_URL=redis://.../n \
        .venv/bin/python -m bench.pipeline_profile [N] [--sql] [--profile]

Writes N received detractor responses with their process events (as the throughput figure
does: one department, comments from the negative phrase bank), drains them the way a worker's
messages do (``response_process_batch``, batches of ``BATCH_SIZE``) and prints the statements
per response and the CPU time per response of this process (``time.process_time``; the
database's own time is not in it). ``--sql`` lists the statements of one batch of 5,
``--profile`` adds a cProfile on CPU time. The rows belong to a ``bench-run-`` source, so the
next bench run removes them; the Redis queue given is emptied at the end.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time

from bench.env import configure_profile


def main(argv: list[str]) -> None:
    configure_profile(prefix="PIPELINE_PROFILE", quick=False)
    import django

    django.setup()
    import logging

    import redis
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.figures import RUN_PREFIX, _pending_events, _pending_responses
    from feedback.models import Program, Source
    from feedback.processing import BATCH_SIZE, response_process_batch

    for handler in logging.getLogger().handlers:  # rendered as in production, written nowhere
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115
    count = int(next((a for a in argv if a.isdigit()), "500"))
    size = int(next((a.split("=")[1] for a in argv if a.startswith("--batch=")), str(BATCH_SIZE)))
    program = Program.objects.order_by("id").first()
    run = str(int(time.time()))

    def pending(name: str, n: int) -> list[int]:
        source = Source(program=program, name=f"profile {name} {run}", slug=f"{RUN_PREFIX}prof-{name}-{run}")
        source.set_new_token()
        source.save()
        return _pending_events(_pending_responses(source, n))

    warm = pending("warm", 6)
    response_process_batch(event_id=warm[0], limit=len(warm))  # configuration, compiled queries
    probe = pending("sql", 6)
    response_process_batch(event_id=probe[0], limit=1)
    with CaptureQueriesContext(connection) as captured:
        drained = response_process_batch(event_id=probe[1], limit=5)
    print(f"batch of {len(drained)}: {len(captured.captured_queries)} statements")
    if "--sql" in argv:
        for query in captured.captured_queries:
            print("   ", query["sql"][:200].replace("\n", " "))
    events = pending("burst", count)
    profiler = cProfile.Profile(time.process_time) if "--profile" in argv else None
    if profiler:
        profiler.enable()
    started, wall = time.process_time(), time.perf_counter()
    done = 0
    statements = 0
    seconds: dict[str, float] = {}
    for i in range(0, len(events), size):
        with CaptureQueriesContext(connection) as captured:
            done += len(response_process_batch(event_id=events[i], limit=size))
        statements += len(captured.captured_queries)
        for query in captured.captured_queries:
            head = " ".join(query["sql"].split()[:4])[:60]
            seconds[head] = seconds.get(head, 0.0) + float(query["time"])
    cpu, wall = time.process_time() - started, time.perf_counter() - wall
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    print(f"processed {done} of {count} in batches of {size}")
    print(f"statements per response: {statements / max(done, 1):.2f}")
    if "--sql" in argv:
        print("wall time per response by statement (ms):")
        for head, total in sorted(seconds.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {total / max(done, 1) * 1000:6.2f}  {head}")
    per = max(done, 1)
    print(f"CPU per response (this process): {cpu / per * 1000:.2f} ms; wall {wall / per * 1000:.2f} ms")
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(os.environ["CELERY_QUEUE"])


if __name__ == "__main__":
    main(sys.argv[1:])
