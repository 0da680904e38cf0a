"""The PDF report's figures: rolled up from a few GROUP BY passes, equal to the API's and the
dashboard's, a section per department, in a constant number of queries."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.models import ActionItem, Loop
from reports import selectors
from reports.models import Report
from reports.services import report_context, report_request
from tests.factories import (
    ActionItemFactory,
    DepartmentFactory,
    ProgramFactory,
    SourceFactory,
    SuccessMeasureFactory,
    ThemeFactory,
)
from tests.reports.helpers import scored

START, END = date(2026, 8, 1), date(2026, 10, 31)
PERIOD = selectors.Period(START, END)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def _department_with_feedback(slug: str, *, months: int, per_month: int, theme) -> None:
    """A department with two programs, scores on two CES scales, a theme, inner and outer actions."""
    dept = DepartmentFactory(slug=slug, name=slug.title())
    sources = [SourceFactory(program=ProgramFactory(department=dept)) for _ in range(2)]
    for m in range(months):
        when = datetime(2026, 10 - m, 10, 9, tzinfo=UTC)
        for i in range(per_month):
            r = scored(
                source=sources[i % 2], submitted_at=when + timedelta(hours=i), nps=i % 11, csat=1 + i % 5
            )
            if i % 3 == 0:
                r.themes.add(theme)
            if i % 4 == 0:
                scored(source=sources[0], submitted_at=when, ces=1 + i % 5, scale=(1, 5))
            else:
                scored(source=sources[1], submitted_at=when, ces=1 + i % 7)
            if i % 5 == 0:
                action = ActionItemFactory(
                    department=dept,
                    response=r,
                    status="resolved" if i % 2 else "new",
                    closed_at=when + timedelta(days=i) if i % 2 else None,
                    first_contacted_at=when + timedelta(hours=1) if i % 2 else None,  # resolved = spoken with
                    due_at=when + timedelta(days=3),
                )
                ActionItem.objects.filter(pk=action.pk).update(created_at=when - timedelta(hours=i))
    ActionItemFactory(
        department=dept, loop=Loop.OUTER, theme=theme, title=f"Fix the cause in {slug}", fix="New checklist"
    )


@pytest.fixture
def theme():
    return ThemeFactory(name="Late delivery", slug="late-delivery")


def _context_queries(**kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        report_context(period=PERIOD, department_ids=None, **kwargs)
    return len(captured)


def test_report_context_queries_do_not_grow_with_departments_months_or_responses(theme, leader):
    _department_with_feedback("alpha", months=1, per_month=3, theme=theme)
    SuccessMeasureFactory(name="Retention")
    small = _context_queries()
    for slug in ("beta", "gamma", "delta"):
        _department_with_feedback(slug, months=3, per_month=12, theme=ThemeFactory())
    SuccessMeasureFactory(name="Churn", owner_department=DepartmentFactory(slug="epsilon"))
    assert _context_queries() == small
    # departments, response roll-up, programs, loops, themes roll-up, theme names, quotes,
    # systemic actions, scorecard (+ programs, actuals), ROI (3), moments, maturity (2)
    assert small == 17


def _figures(line: dict) -> dict:
    """A loop line without its links (a department's lines link to that department's triage)."""
    return {k: v for k, v in line.items() if not k.endswith("_url")}


def _without_ces_spread(trends: dict) -> dict:
    spread = ("sd", "ci_low", "ci_high")
    ces = trends["ces"]
    return {
        **trends,
        "ces": {
            "series": [{k: v for k, v in r.items() if k not in spread} for r in ces["series"]],
            "summary": {k: v for k, v in ces["summary"].items() if k not in spread},
        },
    }


def test_rolled_up_figures_equal_the_api_and_the_dashboard(theme):
    for slug in ("alpha", "beta"):
        _department_with_feedback(slug, months=3, per_month=11, theme=theme)
    data = selectors.report_data(department_ids=None, period=PERIOD, now=NOW)
    # The daily roll-up keeps CES sums, not sums of squares: the report's CES rows carry no
    # standard deviation / interval; every other figure is the dashboard's.
    assert _without_ces_spread(data["trends"]) == _without_ces_spread(
        selectors.metric_trends(department_ids=None, period=PERIOD)
    )
    assert data["loops"] == selectors.loop_closure(department_ids=None, period=PERIOD, now=NOW)
    filters = selectors.ResponseFilters(date_from=START, date_to=END)
    for metric in ("nps", "csat", "ces"):
        api = selectors.metric_results(
            department_ids=None, metric=metric, group_by="department", filters=filters
        )
        spread = ("sd", "ci_low", "ci_high")  # see _without_ces_spread
        assert [{k: v for k, v in r.items() if k not in spread} for r in data["by_department"][metric]] == [
            {k: v for k, v in r.items() if k not in spread} for r in api
        ]
    for section in data["sections"]:
        dept = section["department"]
        alone = selectors.loop_closure(department_ids={dept.pk}, period=PERIOD, now=NOW)
        assert [_figures(line) for line in section["loops"]] == [_figures(line) for line in alone]
        assert section["loops"][0]["created"] > 0 and section["loops"][0]["time_to_close_days"] is not None
        for metric in ("nps", "csat", "ces"):
            (alone,) = selectors.metric_results(
                department_ids={dept.pk}, metric=metric, group_by="department", filters=filters
            )
            skip = ("group", "label", "sd", "ci_low", "ci_high")
            assert {k: v for k, v in section["summary"][metric].items() if k not in skip} == {
                k: v for k, v in alone.items() if k not in skip
            }
        months = selectors.metric_results(
            department_ids={dept.pk}, metric="nps", group_by="month", filters=filters
        )
        assert [(m["month"].strftime("%Y-%m"), m["nps"]["score"]) for m in section["months"]] == [
            (r["group"], r["score"]) for r in months
        ]


def test_each_department_gets_its_themes_quotes_and_systemic_actions(theme):
    _department_with_feedback("alpha", months=1, per_month=6, theme=theme)
    _department_with_feedback("beta", months=1, per_month=6, theme=ThemeFactory(name="Billing errors"))
    data = selectors.report_data(department_ids=None, period=PERIOD, now=NOW)
    alpha, beta = data["sections"]
    assert [t["theme"].name for t in alpha["themes"]] == ["Late delivery"]
    assert alpha["themes"][0]["mentions"] == 2 and len(alpha["themes"][0]["quotes"]) == 2
    assert {q.department_id for q in alpha["themes"][0]["quotes"]} == {alpha["department"].pk}
    assert [a.title for a in alpha["actions"]] == ["Fix the cause in alpha"]
    assert [t["theme"].name for t in beta["themes"]] == ["Billing errors"]
    assert [t.name for t in data["themes"]] == ["Billing errors", "Late delivery"]
    assert data["themes"][1].systemic_actions[0].title == "Fix the cause in alpha"


def test_a_department_scope_keeps_other_departments_out(theme):
    _department_with_feedback("alpha", months=1, per_month=6, theme=theme)
    _department_with_feedback("beta", months=1, per_month=6, theme=theme)
    alpha_id = selectors.departments_named(None)[0].pk
    data = selectors.report_data(department_ids={alpha_id}, period=PERIOD, now=NOW)
    assert [s["department"].slug for s in data["sections"]] == ["alpha"]
    assert [r["group"] for r in data["by_department"]["nps"]] == ["alpha"]
    assert data["themes"][0].mentions == 2
    assert all(q.department_id == alpha_id for q in data["themes"][0].sample_responses)


def test_pdf_reaches_every_department_section(theme, leader, django_capture_on_commit_callbacks):
    _department_with_feedback("alpha", months=2, per_month=6, theme=theme)
    _department_with_feedback("beta", months=2, per_month=6, theme=theme)
    SuccessMeasureFactory(
        name="Alpha retention",
        owner_department=selectors.departments_named(None)[0],
        baseline_value=Decimal("80"),
        target_value=Decimal("90"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = report_request(user=leader, period_start=START, period_end=END)
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    text = subprocess.run(
        ["pdftotext", "-layout", report.file.path, "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Departments" in text
    for name in ("Alpha", "Beta"):
        assert f"Department section {'1' if name == 'Alpha' else '2'} of 2" in text
        assert f"Fix the cause in {name.lower()}" in text
    for heading in ("Success measures and targets", "Month by month", "By program", "Closing the loop"):
        assert text.count(heading) == 2, heading
    assert "Alpha retention" in text
    assert text.count("of those who scored were detractors") == 2
    assert "Oct 2026" in text and "Sep 2026" in text


def _theme_figures_of(data: dict) -> list:
    """What ``==`` on the report misses: figures attached to the themes (instances compare by pk)."""
    return [
        (t.name, t.mentions, [r.pk for r in t.sample_responses], t.systemic_actions) for t in data["themes"]
    ]
