"""Dashboard selectors against hand-computed fixtures: loop closure, SLAs, backlog, themes, programs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from feedback.models import ActionItem
from missions.models import SuccessMeasure
from reports.selectors import Period, loop_closure, programs_needing_attention, rising_themes
from tests.factories import ActionItemFactory, ProgramFactory, SourceFactory, ThemeFactory
from tests.reports.helpers import scored


def _created(action: ActionItem, when) -> None:
    ActionItem.objects.filter(pk=action.pk).update(created_at=when)


def test_loop_closure_rates_sla_and_backlog_match_hand_computation(dept_a):
    now = timezone.now()
    day = timedelta(days=1)
    rows = [
        # status, created days ago, closed after (days), due after (days), contact due, contacted after
        ("resolved", 10, 2, 5, 1, 0.5),  # closed on time, contacted on time
        ("resolved", 10, 6, 5, 1, 2),  # closed late, contacted late
        ("unreachable", 8, 4, 5, None, None),  # closed on time
        ("new", 6, None, 3, 1, None),  # open, overdue (due 3 days ago)
    ]
    for status, ago, closed_after, due_after, contact_due, contacted_after in rows:
        created = now - ago * day
        action = ActionItemFactory(
            department=dept_a,
            status=status,
            due_at=created + due_after * day,
            closed_at=created + closed_after * day if closed_after is not None else None,
            first_contact_due_at=created + contact_due * day if contact_due is not None else None,
            first_contacted_at=created + contacted_after * day if contacted_after is not None else None,
        )
        _created(action, created)
    inner = loop_closure(department_ids=None, period=Period.last_days(30), now=now)[0]
    assert inner["loop"] == "inner"
    assert (inner["created"], inner["closed"]) == (4, 3)
    assert inner["closure_rate"] == 75.0
    assert inner["time_to_close_days"] == 4.0  # (2 + 6 + 4) / 3
    assert inner["sla_on_time"] == 66.7  # 2 of 3 closed by their due date
    assert inner["first_contact_on_time"] == 33.3  # 1 of 3 with a contact due
    assert (inner["backlog"], inner["overdue"]) == (1, 1)
    assert inner["backlog_age_days"] == 6.0 and inner["oldest_days"] == 6.0


def test_loop_closure_of_nothing_is_dashes_not_zeroes():
    inner, outer = loop_closure(department_ids=None, period=Period.last_days(30))
    assert inner["closure_rate"] is None and inner["time_to_close_days"] is None and inner["created"] == 0
    assert outer["sla_on_time"] is None


def test_loop_closure_is_scoped_to_the_departments_given(dept_a, dept_b):
    ActionItemFactory(department=dept_a)
    ActionItemFactory(department=dept_b)
    inner = loop_closure(department_ids={dept_a.id}, period=Period.last_days(30))[0]
    assert inner["created"] == 1


def test_rising_themes_compare_the_last_30_days_with_the_30_before(dept_a):
    now = timezone.now()
    src = SourceFactory(program=ProgramFactory(department=dept_a))
    rising, falling = ThemeFactory(name="Rising", slug="rising"), ThemeFactory(name="Falling", slug="falling")
    for days in (1, 2, 3):
        scored(source=src, submitted_at=now - timedelta(days=days), nps=3).themes.add(rising)
    scored(source=src, submitted_at=now - timedelta(days=40), nps=3).themes.add(rising)
    scored(source=src, submitted_at=now - timedelta(days=2), nps=3).themes.add(falling)
    for days in (35, 40, 45):
        scored(source=src, submitted_at=now - timedelta(days=days), nps=3).themes.add(falling)
    themes = rising_themes(department_ids=None, now=now)
    assert [(t.name, t.recent, t.previous, t.rise) for t in themes] == [("Rising", 3, 1, 2)]


def test_programs_without_purpose_or_action_are_flagged(dept_a):
    measure = SuccessMeasure.objects.create(name="Relationship NPS", kind="nps")
    ProgramFactory(slug="no-purpose", purpose="", department=dept_a)
    quiet = SourceFactory(program=ProgramFactory(slug="quiet", department=dept_a, success_measure=measure))
    scored(source=quiet, submitted_at=timezone.now(), nps=9)
    busy = SourceFactory(program=ProgramFactory(slug="busy", department=dept_a, success_measure=measure))
    ActionItemFactory(department=dept_a, response=scored(source=busy, submitted_at=timezone.now(), nps=1))
    flagged = {p.slug: p.reasons for p in programs_needing_attention(department_ids=None)}
    assert flagged == {"no-purpose": ["no purpose", "no responses yet"], "quiet": ["no action taken"]}
