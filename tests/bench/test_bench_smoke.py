"""The benchmark machinery works on tiny data: generators load what they promise, a figure
comes back with a value and its same-run baseline. Never asserts a time."""

from __future__ import annotations

import pytest
from django.db import connection

from bench import figures, generate, report
from bench.copyutil import encode
from feedback.models import ActionItem, Insight, Response

TINY = generate.Sizes(responses=600, actions=60, customers=120)


def test_copy_encoding_escapes_what_copy_text_format_needs() -> None:
    assert encode(None) == r"\N"
    assert encode(True) == "t"
    assert encode("a\tb\nc\\d") == "a\\tb\\nc\\\\d"
    assert encode({"k": "v"}) == '{"k": "v"}'


def test_percentile_is_a_latency_somebody_saw() -> None:
    values = [float(v) for v in range(1, 101)]
    assert figures.percentile(values, 50) == 50.0
    assert figures.percentile(values, 99) == 99.0
    assert figures.percentile([7.0], 99) == 7.0


@pytest.mark.django_db(transaction=True)
def test_generators_load_the_target_counts_and_a_second_run_adds_nothing() -> None:
    first = generate.generate(TINY)
    assert first["totals"] == {"responses": 600, "actions": 60, "customers": 120}
    assert Insight.objects.count() == 60
    assert ActionItem.objects.filter(loop="inner", response__isnull=False).count() == 60
    assert Response.objects.values("department").distinct().count() == len(generate.DEPARTMENTS)
    assert Response.objects.values("program").distinct().count() == len(generate.PROGRAMS)
    assert Response.objects.exclude(comment="").exists()
    assert Response.themes.through.objects.exists()
    second = generate.generate(TINY)
    assert second["added"] == {"customers": 0, "responses": 0, "actions": 0}
    assert second["totals"] == first["totals"]


@pytest.mark.django_db(transaction=True)
def test_metrics_figure_reports_api_time_next_to_the_sql_baseline(tmp_path, monkeypatch) -> None:
    loaded = generate.generate(TINY)
    ctx = figures.Context(quick=True, ref=loaded["reference"], sizes=TINY, log=lambda _m: None)
    try:
        (fig,) = figures.fig_metrics(ctx)
    finally:
        ctx.close()
    assert fig.not_measured == "", fig.not_measured
    assert fig.value is not None and fig.baseline is not None and fig.ratio is not None
    assert fig.details["counts_match_sql"] is True
    monkeypatch.setattr(report, "HERE", tmp_path)
    body = report.write(
        figures=[fig], mode="smoke", data=loaded["totals"], started=report.datetime.now(report.UTC), notes=[]
    )
    assert "| 1 | Metrics API" in body
    assert (tmp_path / "RESULTS-smoke.md").exists() and (tmp_path / "results-smoke.json").exists()


@pytest.mark.django_db(transaction=True)
def test_cleanup_removes_rows_a_previous_run_added() -> None:
    loaded = generate.generate(TINY)
    ctx = figures.Context(quick=True, ref=loaded["reference"], sizes=TINY)
    source, _token = ctx.new_source(kind="generic", name="smoke")
    figures._pending_responses(source, 5)
    assert Response.objects.filter(source=source).count() == 5
    figures.cleanup_previous_runs(log=lambda _m: None)
    assert not Response.objects.filter(source=source).exists()
    assert Response.objects.count() == 600
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM feedback_source WHERE slug LIKE 'bench-run-%%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_cleanup_leaves_no_dead_outbox_rows_and_churned_tables_are_vacuumed() -> None:
    loaded = generate.generate(TINY)
    ctx = figures.Context(quick=True, ref=loaded["reference"], sizes=TINY)
    source, _token = ctx.new_source(kind="generic", name="smoke")
    figures._pending_events(figures._pending_responses(source, 5))
    figures.cleanup_previous_runs(log=lambda _m: None)
    figures.vacuum_churned()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_live_tup, n_dead_tup, last_vacuum IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = 'feedback_outboxevent'"
        )
        live, dead, vacuumed = cursor.fetchone()
    assert (live, dead, vacuumed) == (0, 0, True)
