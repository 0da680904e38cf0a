"""Due dates on a working-day calendar.

A detractor who complains on Friday at 18:00 is not "48 hours overdue" on Sunday evening:
the promise to the customer is counted in business hours (first contact) and working days
(resolution), the way the team actually works. ``business_deadline`` and
``working_days_deadline`` are pure functions (no database), so they are tested on their
own across weekends, evenings and holidays; ``sla_due_dates`` looks the policy up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.utils import timezone

from cxgov.fields import int_or_none

from .models import Loop, Priority, SLAPolicy

# Used when the CX leader has not set a policy for a priority and loop yet.
DEFAULT_POLICIES: dict[tuple[str, str], tuple[int, int]] = {
    (Priority.URGENT, Loop.INNER): (4, 2),
    (Priority.HIGH, Loop.INNER): (24, 5),
    (Priority.NORMAL, Loop.INNER): (48, 10),
    (Priority.LOW, Loop.INNER): (72, 15),
    (Priority.URGENT, Loop.OUTER): (24, 10),
    (Priority.HIGH, Loop.OUTER): (48, 20),
    (Priority.NORMAL, Loop.OUTER): (72, 30),
    (Priority.LOW, Loop.OUTER): (120, 45),
}


@dataclass(frozen=True)
class WorkCalendar:
    """Working weekdays (Monday=0), the working day's hours, its time zone and holidays."""

    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start_hour: int = 9
    day_end_hour: int = 17
    tz: tzinfo | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.working_days:
            raise ValueError("A calendar needs at least one working day.")
        if not 0 <= self.day_start_hour < self.day_end_hour <= 24:
            raise ValueError("The working day must start before it ends (hours 0–24).")

    @property
    def zone(self) -> tzinfo:
        return self.tz or timezone.get_default_timezone()

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def opens(self, day: date) -> datetime:
        return datetime.combine(day, time(self.day_start_hour), tzinfo=self.zone)

    def closes(self, day: date) -> datetime:
        if self.day_end_hour == 24:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        return datetime.combine(day, time(self.day_end_hour), tzinfo=self.zone)

    @classmethod
    def from_policy(cls, policy: SLAPolicy) -> WorkCalendar:
        parsed = (int_or_none(d, min_value=0, max_value=6) for d in policy.working_days.split(","))
        days = frozenset(d for d in parsed if d is not None)
        return cls(
            working_days=days or frozenset({0, 1, 2, 3, 4}),
            day_start_hour=policy.day_start_hour,
            day_end_hour=policy.day_end_hour,
        )


def business_deadline(start: datetime, *, hours: float, calendar: WorkCalendar | None = None) -> datetime:
    """``start`` plus ``hours`` counted only inside working hours of working days.

    Time before opening counts from opening; time after closing counts from the next working
    day's opening. Zero hours from outside working hours gives the next opening.
    """
    calendar = calendar or WorkCalendar()
    if hours < 0:
        raise ValueError("hours must not be negative")
    current = start.astimezone(calendar.zone)
    remaining = timedelta(hours=hours)
    day = current.date()
    for _ in range(3660):  # ten years of days: a broken calendar must not loop forever
        if calendar.is_working_day(day):
            opens, closes = calendar.opens(day), calendar.closes(day)
            begin = max(current, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        current = calendar.opens(day)
    raise ValueError("No working time found within ten years; check the calendar.")


def working_days_deadline(start: datetime, *, days: int, calendar: WorkCalendar | None = None) -> datetime:
    """The close of business of the ``days``-th working day after ``start``'s day.

    The day of ``start`` counts as day 1 only when it starts before that day's close of
    business and is itself a working day (a Friday-evening complaint starts on Monday).
    """
    calendar = calendar or WorkCalendar()
    if days < 0:
        raise ValueError("days must not be negative")
    local = start.astimezone(calendar.zone)
    day = local.date()
    if days == 0:
        return business_deadline(start, hours=0, calendar=calendar)
    counted = 0
    for _ in range(3660):
        if calendar.is_working_day(day) and (day != local.date() or local < calendar.closes(day)):
            counted += 1
            if counted == days:
                return calendar.closes(day)
        day += timedelta(days=1)
    raise ValueError("No working day found within ten years; check the calendar.")


def sla_due_dates(
    *,
    priority: str,
    loop: str,
    start: datetime,
    policies: dict[tuple[str, str], SLAPolicy] | None = None,
    calendars: dict[tuple[str, str], WorkCalendar] | None = None,
) -> tuple[datetime, datetime]:
    """(first contact due, resolution due) for an action of this priority and loop.

    ``policies`` (and their ``calendars``) by (priority, loop): the pipeline passes its cached
    ones; the policy is read when not given.
    """
    if policies is None:
        policy = SLAPolicy.objects.filter(priority=priority, loop=loop).first()
    else:
        policy = policies.get((priority, loop))
    if policy is None:
        hours, days = DEFAULT_POLICIES.get((priority, loop), (48, 10))
        policy = SLAPolicy(priority=priority, loop=loop, first_contact_hours=hours, resolve_days=days)
    calendar = (calendars or {}).get((priority, loop)) or WorkCalendar.from_policy(policy)
    first_contact = business_deadline(start, hours=policy.first_contact_hours, calendar=calendar)
    resolve = working_days_deadline(start, days=policy.resolve_days, calendar=calendar)
    return first_contact, max(resolve, first_contact)
