"""Assigning actions reaches the new owner's inbox: one item that counts them up."""

from __future__ import annotations

import pytest
from django.core import mail

from charter.models import InboxItem, User
from feedback import actions as svc
from tests.factories import ActionItemFactory

pytestmark = pytest.mark.django_db


def test_three_assignments_make_one_item_that_says_three(
    dept_a, ambassador, owner, django_capture_on_commit_callbacks
):
    items = ActionItemFactory.create_batch(3, department=dept_a, owner=ambassador)
    with django_capture_on_commit_callbacks(execute=True):
        svc.action_items_bulk(ids=[a.pk for a in items], operation="assign", by=ambassador, owner=owner)
    item = InboxItem.objects.get(user=owner)
    assert item.text == "3 actions assigned to you"
    assert item.url == "/my/"
    assert User.objects.get(pk=owner.pk).inbox_unread == 1
    assert [m.subject for m in mail.outbox if m.to == [owner.email]] == ["[cxgov] 3 actions assigned to you"]


def test_assigning_to_yourself_puts_nothing_in_your_inbox(dept_a, ambassador, owner):
    action = ActionItemFactory(department=dept_a, owner=owner)
    svc.action_item_assign(action=action, owner=ambassador, by=ambassador)
    assert not InboxItem.objects.filter(user=ambassador).exists()


def test_a_single_assignment_names_the_action(dept_a, ambassador, owner):
    action = ActionItemFactory(department=dept_a, owner=ambassador, title="Call back Ms Lee")
    svc.action_item_assign(action=action, owner=owner, by=ambassador)
    item = InboxItem.objects.get(user=owner)
    assert item.text == "Action assigned to you: Call back Ms Lee"
    assert item.url == f"/actions/{action.pk}/"
