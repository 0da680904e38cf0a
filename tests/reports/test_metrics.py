"""Metric formulas against hand-computed fixtures, and the metrics API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedback.models import Response
from reports import metrics
from reports.selectors import ResponseFilters, metric_results
from tests.factories import DepartmentFactory, ProgramFactory, SourceFactory
from tests.reports.helpers import scored

OCT = datetime(2026, 10, 5, 12, tzinfo=UTC)
NOV = datetime(2026, 11, 3, 12, tzinfo=UTC)


@pytest.fixture
def source_a(dept_a):
    return SourceFactory(slug="src-a", program=ProgramFactory(slug="prog-a", department=dept_a))


@pytest.fixture
def source_b(dept_b):
    return SourceFactory(slug="src-b", program=ProgramFactory(slug="prog-b", department=dept_b))


def test_nps_margin_of_error_matches_hand_computation():
    # 5 promoters, 3 passives, 2 detractors: p=.5, d=.2 -> 1.96*sqrt((.7-.09)/10)*100 = 48.41
    assert metrics.nps_margin_of_error(promoters=5, passives=3, detractors=2) == pytest.approx(
        48.4077, abs=1e-3
    )
    assert metrics.nps_score(promoters=5, passives=3, detractors=2) == pytest.approx(30.0)


def test_no_responses_give_a_null_score_and_a_zero_count():
    summary = metrics.metric_summary(responses=Response.objects.none(), metric="nps")
    assert summary["score"] is None and summary["count"] == 0 and summary["margin_of_error"] is None
    assert metrics.metric_summary(responses=Response.objects.all(), metric="ces")["score"] is None


def test_all_passives_give_nps_zero(source_a):
    for _ in range(4):
        scored(source=source_a, submitted_at=OCT, nps=7)
    summary = metrics.metric_summary(responses=Response.objects.all(), metric="nps")
    assert summary["score"] == 0.0
    assert summary["passives"] == 4 and summary["margin_of_error"] == 0.0
    assert summary["small_sample"] is True


def test_nps_and_csat_are_computed_from_bands_on_each_response_scale(source_a):
    for value in (10, 9, 8, 3):
        scored(source=source_a, submitted_at=OCT, nps=value)
    scored(source=source_a, submitted_at=OCT, nps=5, scale=(1, 5))  # top of 1-5 -> promoter
    for value in (5, 4, 2):
        scored(source=source_a, submitted_at=OCT, csat=value)
    scored(source=source_a, submitted_at=OCT, csat=6, scale=(1, 7))  # 6 of 7: top two boxes
    nps = metrics.metric_summary(responses=Response.objects.all(), metric="nps")
    assert (nps["promoters"], nps["passives"], nps["detractors"]) == (3, 1, 1)
    assert nps["score"] == 40.0  # (3 - 1) / 5
    csat = metrics.metric_summary(responses=Response.objects.all(), metric="csat")
    assert csat["score"] == 75.0 and csat["count"] == 4


def test_ces_mean_normalises_mixed_scales_onto_one_to_seven(source_a):
    scored(source=source_a, submitted_at=OCT, ces=2)  # 2 on 1-7
    scored(source=source_a, submitted_at=OCT, ces=5, scale=(1, 5))  # 5 of 5 -> 7
    ces = metrics.metric_summary(responses=Response.objects.all(), metric="ces")
    assert ces["score"] == 4.5 and ces["count"] == 2


def test_grouping_by_month_and_department_counts_each_group(source_a, source_b):
    scored(source=source_a, submitted_at=OCT, nps=10)
    scored(source=source_a, submitted_at=NOV, nps=2)
    scored(source=source_b, submitted_at=NOV, nps=9)
    months = metric_results(department_ids=None, metric="nps", group_by="month")
    assert [(r["group"], r["score"], r["count"]) for r in months] == [
        ("2026-10", 100.0, 1),
        ("2026-11", 0.0, 2),
    ]
    depts = metric_results(department_ids=None, metric="nps", group_by="department")
    assert {r["group"]: r["score"] for r in depts} == {"billing": 100.0, "support": 0.0}
    only_a = metric_results(
        department_ids=None, metric="nps", group_by="source", filters=ResponseFilters(source="src-a")
    )
    assert [r["group"] for r in only_a] == ["src-a"]


def test_metric_groups_use_one_query_whatever_the_rows(source_a, source_b, django_assert_num_queries):
    for i in range(12):
        scored(source=source_a if i % 2 else source_b, submitted_at=OCT if i % 3 else NOV, nps=i % 11)
    with django_assert_num_queries(1):
        metric_results(department_ids=None, metric="nps", group_by="month")


# --- API --------------------------------------------------------------------------------


def test_metrics_api_answers_the_public_contract_shape(leader_client, source_a):
    for value in (10, 9, 6):
        scored(source=source_a, submitted_at=OCT, nps=value)
    body = leader_client.get("/api/v1/metrics/?metric=nps&group_by=month").json()
    assert body["metric"] == "nps" and body["group_by"] == "month"
    row = body["results"][0]
    assert row["group"] == "2026-10" and row["score"] == 33.3 and row["count"] == 3
    assert (row["promoters"], row["passives"], row["detractors"]) == (2, 0, 1)
    assert row["margin_of_error"] == metrics.round1(
        metrics.nps_margin_of_error(promoters=2, passives=0, detractors=1)
    )
    assert row["small_sample"] is True


def test_metrics_api_filters_by_date_program_and_source(leader_client, source_a, source_b):
    scored(source=source_a, submitted_at=OCT, csat=5)
    scored(source=source_a, submitted_at=NOV, csat=1)
    scored(source=source_b, submitted_at=NOV, csat=5)
    body = leader_client.get(
        "/api/v1/metrics/?metric=csat&group_by=source&from=2026-11-01&to=2026-11-30"
    ).json()
    assert {r["group"]: r["score"] for r in body["results"]} == {"src-a": 0.0, "src-b": 100.0}
    body = leader_client.get("/api/v1/metrics/?metric=csat&group_by=program&program=prog-a").json()
    assert [(r["group"], r["count"]) for r in body["results"]] == [("prog-a", 2)]


def test_metrics_api_states_that_lower_effort_is_better(leader_client, source_a):
    scored(source=source_a, submitted_at=OCT, ces=3)
    body = leader_client.get("/api/v1/metrics/?metric=ces&group_by=touchpoint").json()
    assert body["direction"] == "lower effort is better"
    assert body["results"][0]["score"] == 3.0


def test_ambassador_sees_only_their_departments_responses(ambassador_client, source_a, source_b):
    scored(source=source_a, submitted_at=OCT, nps=10)
    scored(source=source_b, submitted_at=OCT, nps=0)
    body = ambassador_client.get("/api/v1/metrics/?metric=nps&group_by=department").json()
    assert [r["group"] for r in body["results"]] == ["support"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("metric=xyz&group_by=month", "metric"),
        ("metric=nps&group_by=colour", "group_by"),
        ("metric=nps&group_by=month&from=2026-13-01", "from"),
        ("metric=nps&group_by=month&from=2026-11-02&to=2026-11-01", "to"),
        ("group_by=month", "metric"),
    ],
)
def test_metrics_api_answers_400_with_the_bad_field(leader_client, query, field):
    response = leader_client.get(f"/api/v1/metrics/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_metrics_api_needs_a_login(client):
    assert client.get("/api/v1/metrics/?metric=nps&group_by=month").status_code in (401, 403)


def test_empty_department_group_is_absent_not_zero(leader_client):
    DepartmentFactory(slug="quiet")
    body = leader_client.get("/api/v1/metrics/?metric=nps&group_by=department").json()
    assert body["results"] == []
