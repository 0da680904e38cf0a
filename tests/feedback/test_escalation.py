"""Escalation: overdue actions go to the ambassador, then the CX leaders; never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from feedback.escalation import escalation_run
from feedback.models import Notification
from tests.factories import ActionItemFactory

pytestmark = pytest.mark.django_db


def test_an_overdue_action_escalates_to_the_ambassador(
    dept_a, ambassador, leader, owner, django_capture_on_commit_callbacks
):
    action = ActionItemFactory(department=dept_a, owner=owner, due_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert escalation_run() == 1
    action.refresh_from_db()
    assert action.escalation_level == 1
    assert [m.to for m in mail.outbox] == [[ambassador.email]]


def test_a_day_overdue_action_escalates_to_the_cx_leaders(dept_a, ambassador, leader, owner):
    action = ActionItemFactory(department=dept_a, owner=owner, due_at=timezone.now() - timedelta(hours=1))
    escalation_run()
    escalation_run(now=timezone.now() + timedelta(days=1))
    action.refresh_from_db()
    assert action.escalation_level == 2
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"ambassador", "leader"}


def test_running_escalation_twice_sends_nothing_twice(
    dept_a, ambassador, leader, owner, django_capture_on_commit_callbacks
):
    ActionItemFactory(department=dept_a, owner=owner, due_at=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert escalation_run() == 1
        assert escalation_run() == 0
    assert len(mail.outbox) == 2  # ambassador (level 1) and CX leader (level 2), once each


def test_closed_snoozed_and_not_yet_due_actions_do_not_escalate(dept_a, ambassador, owner):
    past = timezone.now() - timedelta(hours=3)
    ActionItemFactory(department=dept_a, owner=owner, due_at=past, status="resolved")
    ActionItemFactory(
        department=dept_a, owner=owner, due_at=past, snoozed_until=timezone.now() + timedelta(hours=2)
    )
    ActionItemFactory(department=dept_a, owner=owner, due_at=timezone.now() + timedelta(hours=2))
    assert escalation_run() == 0
    assert not Notification.objects.exists()


def test_a_department_without_ambassador_escalates_to_its_leader(dept_b, owner):
    from tests.factories import UserFactory

    boss = UserFactory(username="boss")
    dept_b.leader = boss
    dept_b.save()
    ActionItemFactory(department=dept_b, owner=owner, due_at=timezone.now() - timedelta(hours=1))
    escalation_run()
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["boss"]
