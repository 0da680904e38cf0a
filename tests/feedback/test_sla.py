"""Working-day calendar: business hours and working days across evenings and weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from feedback.sla import WorkCalendar, business_deadline, sla_due_dates, working_days_deadline

CAL = WorkCalendar(tz=UTC)  # Mon–Fri, 09:00–17:00


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of Monday 2026-11-23 (day 23 = Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_hours_inside_one_working_day_just_add_up():
    assert business_deadline(at(23, 10), hours=4, calendar=CAL) == at(23, 14)


def test_hours_that_run_past_closing_continue_next_morning():
    assert business_deadline(at(23, 15), hours=4, calendar=CAL) == at(24, 11)


def test_a_friday_evening_complaint_starts_counting_on_monday_morning():
    assert business_deadline(at(27, 18), hours=2, calendar=CAL) == datetime(2026, 11, 30, 11, tzinfo=UTC)


def test_a_saturday_start_counts_from_monday():
    assert business_deadline(at(28, 12), hours=8, calendar=CAL) == datetime(2026, 11, 30, 17, tzinfo=UTC)


def test_an_early_morning_start_counts_from_opening():
    assert business_deadline(at(23, 6), hours=1, calendar=CAL) == at(23, 10)


def test_48_business_hours_is_six_working_days_of_eight_hours():
    assert business_deadline(at(23, 9), hours=48, calendar=CAL) == datetime(2026, 11, 30, 17, tzinfo=UTC)


def test_exactly_filling_the_day_ends_at_closing_not_next_morning():
    assert business_deadline(at(23, 9), hours=8, calendar=CAL) == at(23, 17)


def test_holidays_are_skipped():
    cal = WorkCalendar(tz=UTC, holidays=frozenset({date(2026, 11, 24)}))
    assert business_deadline(at(23, 16), hours=2, calendar=cal) == at(25, 10)


def test_zero_hours_outside_working_time_is_the_next_opening():
    assert business_deadline(at(27, 20), hours=0, calendar=CAL) == datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_a_calendar_in_another_time_zone_counts_its_own_office_hours():
    from zoneinfo import ZoneInfo

    cal = WorkCalendar(tz=ZoneInfo("America/New_York"))
    # 14:00 UTC = 09:00 in New York (EST): eight hours later is 17:00 New York = 22:00 UTC.
    assert business_deadline(at(23, 14), hours=8, calendar=cal) == at(23, 22)


def test_working_days_count_today_when_it_starts_before_closing():
    assert working_days_deadline(at(23, 10), days=1, calendar=CAL) == at(23, 17)
    assert working_days_deadline(at(23, 10), days=5, calendar=CAL) == at(27, 17)


def test_working_days_from_friday_evening_start_on_monday():
    assert working_days_deadline(at(27, 18), days=2, calendar=CAL) == datetime(2026, 12, 1, 17, tzinfo=UTC)


def test_working_days_skip_the_weekend():
    assert working_days_deadline(at(26, 12), days=3, calendar=CAL) == datetime(2026, 11, 30, 17, tzinfo=UTC)


def test_a_calendar_without_working_days_is_refused():
    with pytest.raises(ValueError, match="working day"):
        WorkCalendar(working_days=frozenset())


@pytest.mark.django_db
def test_the_sla_policy_of_the_priority_and_loop_sets_the_due_dates():
    from feedback.models import SLAPolicy

    SLAPolicy.objects.create(priority="urgent", loop="inner", first_contact_hours=2, resolve_days=1)
    first, due = sla_due_dates(priority="urgent", loop="inner", start=at(23, 16))
    assert first == at(24, 10)
    assert due == at(24, 10)  # resolution is never before first contact


@pytest.mark.django_db
def test_without_a_policy_the_documented_defaults_apply():
    first, due = sla_due_dates(priority="normal", loop="inner", start=at(23, 9))
    assert first == datetime(2026, 11, 30, 17, tzinfo=UTC)  # 48 business hours = 6 days
    assert due == datetime(2026, 12, 4, 17, tzinfo=UTC)  # 10 working days
