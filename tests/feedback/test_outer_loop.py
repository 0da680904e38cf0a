"""Outer loop: clustering by theme within a window, one open systemic action, verification."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from feedback.models import ActionItem, Insight, OuterLoopSettings, Response
from feedback.processing import response_process
from feedback.verification import verification_run
from missions.models import MeasureActual, SuccessMeasure
from tests.factories import ActionItemFactory, ResponseFactory, SourceFactory, ThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(dept_a):
    return SourceFactory(program__department=dept_a)


@pytest.fixture
def theme():
    return ThemeFactory(name="Late delivery", slug="late-delivery", keywords="late delivery")


def _late(source, days_ago=0, **kwargs):
    response = ResponseFactory(
        source=source,
        nps=kwargs.pop("nps", 2),
        comment="Another late delivery",
        submitted_at=timezone.now() - timedelta(days=days_ago),
        **kwargs,
    )
    response_process(response_id=response.id)
    return Insight.objects.get(response=response)


def test_below_the_threshold_no_systemic_action_opens(source, theme, ambassador):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 3, "window_days": 30})
    _late(source)
    _late(source)
    assert not ActionItem.objects.filter(loop="outer").exists()


def test_at_the_threshold_one_systemic_action_opens_and_the_earlier_insights_attach(
    source, theme, ambassador
):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 3, "window_days": 30})
    insights = [_late(source, days_ago=d) for d in (10, 5, 0)]
    systemic = ActionItem.objects.get(loop="outer")
    assert systemic.theme == theme
    assert systemic.owner == ambassador
    assert {i.id for i in systemic.insights.all()} == {i.id for i in insights}
    later = _late(source)
    assert later.systemic_action == systemic
    assert ActionItem.objects.filter(loop="outer").count() == 1


def test_insights_outside_the_window_do_not_count(source, theme, ambassador):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 3, "window_days": 7})
    _late(source, days_ago=40)
    _late(source, days_ago=20)
    _late(source, days_ago=1)
    assert not ActionItem.objects.filter(loop="outer").exists()


def test_a_closed_systemic_action_lets_a_new_one_open(source, theme, ambassador):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 1, "window_days": 30})
    _late(source)
    ActionItem.objects.filter(loop="outer").update(status="fixed")
    _late(source)
    assert ActionItem.objects.filter(loop="outer").count() == 2


def test_the_database_refuses_a_second_open_systemic_action_for_a_theme(dept_a, theme):
    ActionItemFactory(loop="outer", theme=theme, department=dept_a)
    with pytest.raises(IntegrityError):
        ActionItemFactory(loop="outer", theme=theme, department=dept_a)


def test_the_database_refuses_a_second_inner_action_for_a_response(dept_a, source):
    response = ResponseFactory(source=source)
    ActionItemFactory(loop="inner", response=response, department=dept_a)
    with pytest.raises(IntegrityError):
        ActionItemFactory(loop="inner", response=response, department=dept_a)


def test_inner_only_insights_do_not_cluster(source, theme, dept_a, ambassador):
    from feedback.models import RoutingRule

    RoutingRule.objects.create(name="Inner", is_default=True, department=dept_a, loops="inner")
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 1, "window_days": 30})
    _late(source)
    assert not ActionItem.objects.filter(loop="outer").exists()


# --- verification ---------------------------------------------------------------------------


def _fixed_systemic(source, theme, *, fixed_days_ago=20, verify_days_ago=1, measure=None):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 1, "window_days": 90})
    # Before the fix: three bad responses; after: one better one.
    for d in (35, 30, 25):
        _late(source, days_ago=d, nps=1)
    systemic = ActionItem.objects.get(loop="outer")
    after = ResponseFactory(
        source=source, nps=8, comment="Another late delivery", submitted_at=timezone.now() - timedelta(days=5)
    )
    response_process(response_id=after.id)
    systemic.status = "fixed"
    systemic.closed_at = timezone.now() - timedelta(days=fixed_days_ago)
    systemic.verification_date = timezone.localdate() - timedelta(days=verify_days_ago)
    systemic.success_measure = measure
    systemic.save()
    return systemic


def test_verification_records_before_and_after_and_marks_it_verified(source, theme, ambassador):
    systemic = _fixed_systemic(source, theme)
    assert verification_run() == 1
    systemic.refresh_from_db()
    result = systemic.verification_result
    assert systemic.status == "verified"
    assert result["metric"] == "nps"
    assert result["before"]["insights"] == 3
    assert result["after"]["insights"] == 0
    assert result["before"]["nps"] == 1.0 and result["after"]["nps"] == 8.0
    assert result["moved"] is True
    assert result["affected_customers"] == 3


def test_verification_says_not_moved_when_the_measure_got_worse(source, theme, ambassador):
    measure = SuccessMeasure.objects.create(name="On-time delivery", kind="other", direction="higher")
    fix = timezone.localdate() - timedelta(days=20)
    MeasureActual.objects.create(measure=measure, date=fix - timedelta(days=5), value=Decimal("90"))
    MeasureActual.objects.create(measure=measure, date=fix + timedelta(days=5), value=Decimal("80"))
    systemic = _fixed_systemic(source, theme, measure=measure)
    verification_run()
    systemic.refresh_from_db()
    assert systemic.status == "not_moved"
    assert systemic.verification_result["measure"]["before"] == 90.0
    assert systemic.verification_result["measure"]["after"] == 80.0


def test_verification_waits_for_its_date_and_runs_once(source, theme, ambassador):
    systemic = _fixed_systemic(source, theme, verify_days_ago=-3)
    assert verification_run() == 0
    assert verification_run(today=date.today() + timedelta(days=3)) == 1
    assert verification_run(today=date.today() + timedelta(days=3)) == 0
    systemic.refresh_from_db()
    assert systemic.verification_result


def test_responses_are_processed_to_the_end(source, theme, ambassador):
    _late(source)
    assert Response.objects.filter(status="processed").count() == 1


def test_an_earlier_response_processed_later_still_clusters_with_newer_ones(source, theme, ambassador):
    OuterLoopSettings.objects.update_or_create(pk=1, defaults={"threshold": 2, "window_days": 7})
    newer = _late(source, days_ago=0)
    older = _late(source, days_ago=3)  # submitted earlier, processed later (a retry, an import)
    systemic = ActionItem.objects.get(loop="outer")
    assert {newer.id, older.id} == set(systemic.insights.values_list("id", flat=True))
