"""``python -m bench.run --full|--quick``: load data, measure every figure, write the results.

Full: 1M responses / 100k action items, under 30 minutes on a 2-core machine. Quick: 20k /
2k, a few minutes; CI may run it, and nothing asserts a time. A figure whose feature is
missing or broken prints "not measured: <why>" — never a made-up number.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import env


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def ensure_database() -> None:
    """Create the bench database when missing (the server must be up: ``make services``)."""
    import os
    from urllib.parse import urlsplit

    import psycopg2

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username, password=url.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            log(f"creating database {name}")
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="1M responses / 100k actions (default)")
    mode.add_argument("--quick", action="store_true", help="20k responses / 2k actions, a few minutes")
    parser.add_argument("--only", default="", help="comma-separated figure keys, e.g. intake,metrics")
    parser.add_argument("--data-only", action="store_true", help="load the data, measure nothing")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    started = datetime.now(UTC)
    env.configure(quick=quick)
    ensure_database()

    import django

    django.setup()
    import logging

    # Requests made in this process (query counts, metrics) would log one line each.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("django_structlog").setLevel(logging.WARNING)
    from django.core.management import call_command

    from bench import figures, generate, report

    log("migrating")
    call_command("migrate", verbosity=0, interactive=False)
    figures.cleanup_previous_runs(log=log)
    sizes = generate.Sizes.quick() if quick else generate.Sizes.full()
    t0 = time.perf_counter()
    loaded = generate.generate(sizes, progress=log)
    log(f"data ready in {time.perf_counter() - t0:.0f} s: {loaded['totals']} (added {loaded['added']})")
    if args.data_only:
        return 0

    ctx = figures.Context(quick=quick, ref=loaded["reference"], sizes=sizes, log=log)
    wanted = {k.strip() for k in args.only.split(",") if k.strip()}
    results = []
    try:
        for spec in figures.FIGURES:
            if wanted and spec.key not in wanted:
                continue
            log(f"figure {spec.key}: {spec.name}")
            figures.vacuum_churned()
            t1 = time.perf_counter()
            try:
                measured = spec.measure(ctx)
            except Exception as exc:  # a broken feature is a finding, not a crash of the suite
                traceback.print_exc()
                why = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:200]
                measured = [report.Figure.skipped(spec.key, spec.name, spec.goal, why)]
            for fig in measured:
                fig.seconds = round(time.perf_counter() - t1, 1)
                shown = (
                    f"{fig.value} {fig.unit} (ratio {fig.ratio})"
                    if not fig.not_measured
                    else fig.not_measured
                )
                log(f"  -> {fig.name}: {shown}")
            results.extend(measured)
    finally:
        ctx.close()
    if wanted:  # keep the last run's other figures, saying which are older
        old, when, old_notes = report.previous("quick" if quick else "full")
        fresh = {f.key for f in results}
        kept = [f for f in old if f.key not in fresh and f.key.split("_")[0] not in wanted]
        words = {"pdf": "PDF", "import": "import", "pipeline": "pipeline", "intake": "intake"}
        ctx.notes.extend(
            n for n in old_notes if not any(words.get(k, k) in n for k in wanted) and "Re-measured" not in n
        )
        if kept:
            ctx.notes.append(
                f"Re-measured now: {', '.join(sorted(fresh))}; the other figures are from the run of {when}."
            )
        results.extend(kept)
    results.sort(key=lambda f: figures.DISPLAY_ORDER.index(f.key) if f.key in figures.DISPLAY_ORDER else 99)
    body = report.write(
        figures=results,
        mode="quick" if quick else "full",
        data={**loaded["totals"]},
        started=started,
        notes=ctx.notes,
    )
    print()
    print(body)
    log(f"done in {(datetime.now(UTC) - started).total_seconds():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
