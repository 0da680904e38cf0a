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


# --- several dimensions in one call -----------------------------------------------------


def _hand_group_by_month_department() -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """The reference: the benchmark's hand-written GROUP BY month, department, in SQL."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT to_char(date_trunc('month', r.submitted_at AT TIME ZONE 'UTC'), 'YYYY-MM'), d.slug,
                   count(*) FILTER (WHERE r.nps IS NOT NULL AND r.nps_band <> ''),
                   count(*) FILTER (WHERE r.nps_band = 'promoter'),
                   count(*) FILTER (WHERE r.nps_band = 'passive'),
                   count(*) FILTER (WHERE r.nps_band = 'detractor')
            FROM feedback_response r JOIN charter_department d ON d.id = r.department_id
            GROUP BY 1, 2
            """
        )
        return {(month, dept): tuple(counts) for month, dept, *counts in cursor.fetchall() if counts[0]}


@pytest.fixture
def spread(source_a, source_b):
    """Both departments over two months, with every band and some responses without NPS."""
    for i in range(14):
        scored(source=source_a if i % 2 else source_b, submitted_at=OCT if i % 3 else NOV, nps=i % 11)
    scored(source=source_a, submitted_at=NOV, csat=4)  # no NPS: not counted
    return source_a, source_b


def test_month_by_department_counts_equal_a_hand_group_by(leader_client, spread):
    body = leader_client.get("/api/v1/metrics/?metric=nps&group_by=month,department").json()
    assert body["group_by"] == "month,department"
    got = {
        (r["groups"]["month"], r["groups"]["department"]): (
            r["count"],
            r["promoters"],
            r["passives"],
            r["detractors"],
        )
        for r in body["results"]
    }
    assert got == _hand_group_by_month_department()
    assert len(got) == 4
    first = body["results"][0]
    assert first["group"] == f"{first['groups']['month']},{first['groups']['department']}"
    assert first["label"] == f"{first['labels']['month']} · {first['labels']['department']}"
    assert [r["groups"]["month"] for r in body["results"]] == sorted(
        r["groups"]["month"] for r in body["results"]
    )


def test_each_combined_row_equals_the_single_dimension_call_filtered_to_it(leader_client, spread):
    rows = leader_client.get("/api/v1/metrics/?metric=nps&group_by=department,month").json()["results"]
    assert [r["groups"]["department"] for r in rows] == ["billing", "billing", "support", "support"]
    for row in rows:
        month = row["groups"]["month"]
        last_day = 31 if month.endswith("10") else 30
        single = leader_client.get(
            f"/api/v1/metrics/?metric=nps&group_by=department&from={month}-01&to={month}-{last_day}"
        ).json()["results"]
        same = next(r for r in single if r["group"] == row["groups"]["department"])
        for key in ("score", "count", "promoters", "passives", "detractors", "margin_of_error"):
            assert row[key] == same[key], key


def test_single_dimension_rows_keep_their_shape(leader_client, spread):
    row = leader_client.get("/api/v1/metrics/?metric=nps&group_by=department").json()["results"][0]
    assert "groups" not in row and "labels" not in row and row["group"] == "billing"


def test_combined_groups_stay_within_the_callers_departments(ambassador_client, spread):
    body = ambassador_client.get("/api/v1/metrics/?metric=nps&group_by=month,department").json()
    assert {r["groups"]["department"] for r in body["results"]} == {"support"}
    assert sum(r["count"] for r in body["results"]) == 7


def test_combined_groups_use_one_aggregate_whatever_the_rows(spread, django_assert_num_queries):
    with django_assert_num_queries(3):  # the aggregate, then the source and the program labels
        rows = metric_results(department_ids=None, metric="csat", group_by=("source", "program"))
    assert {r["group"] for r in rows} == {"src-a,prog-a"}
    with django_assert_num_queries(1):  # months need no label query
        metric_results(department_ids=None, metric="nps", group_by=("month",))
    with django_assert_num_queries(2):  # organisation-wide: the departments, then one UNION ALL
        metric_results(department_ids=None, metric="nps", group_by=("month", "department"))
    with django_assert_num_queries(2):  # scoped: the aggregate, then the labels
        metric_results(
            department_ids={spread[0].program.department_id}, metric="nps", group_by=("month", "department")
        )


def test_responses_without_department_or_touchpoint_group_as_unassigned(leader_client, source_a):
    scored(source=source_a, submitted_at=OCT, ces=2)  # the factory leaves the touchpoint empty
    orphan = scored(source=source_a, submitted_at=OCT, ces=4)
    orphan.department = None
    orphan.save()
    rows = leader_client.get("/api/v1/metrics/?metric=ces&group_by=department,touchpoint").json()["results"]
    assert [(r["group"], r["label"], r["score"]) for r in rows] == [
        ("support,", "Support · No touchpoint", 2.0),
        (",", "Unassigned · No touchpoint", 4.0),
    ]


@pytest.mark.parametrize(
    "group_by", ["month,colour", "month,month", "month,", ",month", "month;department", "month department"]
)
def test_bad_combined_group_by_is_a_400_naming_the_field(leader_client, group_by):
    response = leader_client.get("/api/v1/metrics/", {"metric": "nps", "group_by": group_by})
    assert response.status_code == 400
    assert response.json()["group_by"][0]


def test_openapi_schema_documents_the_combined_group_by(leader_client):
    schema = leader_client.get("/api/schema/?format=json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/metrics/"]["get"]["parameters"]}
    assert "month,department" in params["group_by"]["description"]
    assert "pattern" in params["group_by"]["schema"]
