"""Intake cost measured in-process, independent of machine load (issue 9, figure 1).

    INTAKE_PROFILE_DATABASE_URL=postgres://... INTAKE_PROFILE_REDIS_URL=redis://.../n \
        .venv/bin/python -m bench.intake_profile [N] [--sql] [--profile]

Posts N signed generic webhooks (the body of ``intake.lua``) through the WSGI application gunicorn
serves (``cxgov.wsgi.application``, Django's standard handler, the whole middleware) with production settings
(``bench.settings``: real Redis, outbox relay thread), and prints the SQL statements of a new
response and of a duplicate, then the CPU time per request (``time.process_time``: every thread
of the process, the relay included), the relay thread's own CPU per event and the CPU of the
request connection's PostgreSQL backend (``/proc``, when the server is local). ``--profile`` adds
a cProfile on CPU time (``PROFILE_SORT=tottime`` sorts it by own time, ``PROFILE_CALLERS=<regex>``
adds who called what matches). The database must be migrated; the events published go to the Redis
queue given, which is emptied at the end.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import sys
import time
from typing import Any

from bench.env import configure_profile


def main(argv: list[str]) -> None:
    configure_profile(prefix="INTAKE_PROFILE", quick=True)
    import django

    django.setup()
    import logging

    import redis
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from charter.models import Department
    from cxgov.wsgi import application as app  # sets Django up again, so before logging is muted
    from feedback import outbox
    from feedback.models import Program, Source

    count = int(next((a for a in argv if a.isdigit()), "500"))
    for handler in logging.getLogger().handlers:  # rendered as in production, written nowhere
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115

    program = Program.objects.first()
    if program is None:
        department = Department.objects.create(name="Profile", slug="profile")
        program = Program.objects.create(name="Profile", slug="profile", department=department)
    run = str(int(time.time()))
    source = Source(program=program, name=f"profile {run}", slug=f"bench-run-profile-{run}", kind="generic")
    token = source.set_new_token()
    source.save()

    relay = {"cpu": 0.0, "events": 0}
    batch = getattr(outbox, "_relay_batch", None)  # absent before the batched relay

    def timed_batch(ids: list[int]) -> None:
        started = time.thread_time()
        try:
            batch(ids)
        finally:
            relay["cpu"] += time.thread_time() - started
            relay["events"] += len(ids)

    if batch is not None:
        outbox._relay_batch = timed_batch
    path = f"/api/v1/intake/{source.slug}/"

    def call(body: bytes) -> str:
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "HTTP_USER_AGENT": "wrk",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        chunks: Any = app(environ, lambda s, h, e=None: status.append(s))
        b"".join(chunks)
        chunks.close()
        return status[0]

    def body(i: int, prefix: str = "p") -> bytes:
        return json.dumps(
            {
                "external_id": f"{prefix}{run}-{i}",
                "customer": {"external_id": f"wrk-{i % 5000}", "email": f"wrk{i % 5000}@bench.example"},
                "scores": {"nps": i % 11},
                "comment": "I waited on hold for forty minutes.",
            }
        ).encode()

    for i in range(20):
        call(body(i, "warm"))
    for label, payload in (("new response", body(1, "q")), ("duplicate", body(1, "q"))):
        with CaptureQueriesContext(connection) as captured:
            status = call(payload)
        print(f"{label}: {status}, {len(captured.captured_queries)} statements")
        if "--sql" in argv:
            for query in captured.captured_queries:
                print("   ", query["sql"][:160])
    bodies = [body(i) for i in range(count)]
    profiler = cProfile.Profile(time.process_time) if "--profile" in argv else None
    if profiler:
        profiler.enable()
    backend = _backend_cpu(connection)
    started = time.process_time()
    statuses: dict[str, int] = {}
    for payload in bodies:
        status = call(payload)
        statuses[status] = statuses.get(status, 0) + 1
    cpu = time.process_time() - started
    backend = _backend_cpu(connection) - backend if backend is not None else None
    if profiler:
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative"))
        stats.print_stats(50)
        if os.environ.get("PROFILE_CALLERS"):
            stats.print_callers(os.environ["PROFILE_CALLERS"])
    time.sleep(1)  # let the relay thread finish
    print(f"replies: {statuses}")
    print(f"CPU per request (all threads): {cpu / count * 1000:.2f} ms over {count}")
    if relay["events"]:
        print(f"relay thread CPU per event: {relay['cpu'] / relay['events'] * 1000:.2f} ms")
    if backend is not None:
        print(f"PostgreSQL backend CPU per request (this connection): {backend / count * 1000:.2f} ms")
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(os.environ["CELERY_QUEUE"])


def _backend_cpu(connection: Any) -> float | None:
    """CPU seconds (user + system) of this connection's PostgreSQL backend so far, read from
    ``/proc/<pid>/stat``; ``None`` when the server is not on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


if __name__ == "__main__":
    main(sys.argv[1:])
