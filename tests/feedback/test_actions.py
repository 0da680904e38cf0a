"""Services on action items: state machine, required fields, conflicts, history, bulk + undo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback import actions as svc
from feedback.models import ActionComment, ActionItem, ActionReopening, ContactLog, Notification
from feedback.triage.selectors import action_timeline, sla_badge
from missions.models import SuccessMeasure
from tests.factories import ActionItemFactory, ThemeFactory, UserFactory

S = ActionItem.Status


@pytest.fixture
def action(dept_a, ambassador):
    return ActionItemFactory(department=dept_a, owner=ambassador)


@pytest.fixture
def outer(dept_a, ambassador):
    return ActionItemFactory(department=dept_a, owner=ambassador, loop="outer", title="Late deliveries")


@pytest.fixture
def measure():
    return SuccessMeasure.objects.create(name="Support NPS", kind="nps")


def errors_of(excinfo) -> dict:
    return excinfo.value.message_dict


# --- assign, priority, snooze --------------------------------------------------------------


def test_assigning_a_new_action_sets_owner_and_moves_it_to_assigned(action, owner, ambassador):
    updated = svc.action_item_assign(action=action, owner=owner, by=ambassador)
    assert (updated.owner, updated.status, updated.version) == (owner, S.ASSIGNED, 2)


def test_assigning_records_who_did_it_in_the_history(action, owner, ambassador):
    svc.action_item_assign(action=action, owner=owner, by=ambassador)
    last = action.history.latest()
    assert last.history_user == ambassador
    assert last.history_change_reason == f"Assigned to {owner}"


def test_assigning_an_inactive_person_is_a_field_error(action, ambassador):
    gone = UserFactory(is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_assign(action=action, owner=gone, by=ambassador)
    assert "owner" in errors_of(excinfo)


def test_setting_priority_bumps_version(action, ambassador):
    updated = svc.action_item_set_priority(action=action, priority="urgent", by=ambassador)
    assert (updated.priority, updated.version) == ("urgent", 2)


def test_unknown_priority_is_a_field_error(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_set_priority(action=action, priority="whenever", by=ambassador)
    assert "priority" in errors_of(excinfo)


def test_snoozing_into_the_past_is_refused(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_snooze(action=action, until=timezone.localdate() - timedelta(days=1), by=ambassador)
    assert "until" in errors_of(excinfo)


def test_snoozing_until_a_date_hides_it_until_that_morning(action, ambassador):
    day = timezone.localdate() + timedelta(days=3)
    updated = svc.action_item_snooze(action=action, until=day, by=ambassador)
    assert timezone.localtime(updated.snoozed_until).date() == day


# --- contact log ---------------------------------------------------------------------------


def test_first_contact_sets_first_contacted_and_moves_to_contacted(action, ambassador):
    contact = svc.action_item_contact_log(
        action=action, channel="phone", outcome="reached", note="Apologised.", by=ambassador
    )
    action.refresh_from_db()
    assert action.status == S.CONTACTED
    assert action.first_contacted_at == contact.at


def test_a_later_conversation_keeps_the_first_conversation_time(action, ambassador):
    first = svc.action_item_contact_log(action=action, channel="phone", outcome="reached", by=ambassador)
    svc.action_item_contact_log(action=action, channel="email", outcome="follow_up", by=ambassador)
    action.refresh_from_db()
    assert action.first_contacted_at == first.at
    assert ContactLog.objects.filter(action=action).count() == 2


@pytest.mark.parametrize("outcome", ["no_answer", "voicemail", "email_sent"])
def test_a_contact_attempt_is_recorded_but_does_not_stop_the_first_contact_clock(action, ambassador, outcome):
    action.first_contact_due_at = timezone.now() + timedelta(hours=4)
    action.save()
    svc.action_item_contact_log(action=action, channel="phone", outcome=outcome, by=ambassador)
    action.refresh_from_db()
    assert action.first_contacted_at is None
    assert action.status == S.NEW
    assert ContactLog.objects.get(action=action).is_attempt
    assert action.history.latest().history_change_reason == "Contact attempt: Phone"
    badge = sla_badge(action, now=timezone.now())
    assert "first contact" in badge["text"]


def test_the_first_real_conversation_after_attempts_stops_the_clock(action, ambassador):
    svc.action_item_contact_log(action=action, channel="phone", outcome="no_answer", by=ambassador)
    svc.action_item_contact_log(action=action, channel="phone", outcome="voicemail", by=ambassador)
    talk = svc.action_item_contact_log(action=action, channel="phone", outcome="reached", by=ambassador)
    action.refresh_from_db()
    assert action.first_contacted_at == talk.at
    assert action.status == S.CONTACTED
    assert "first contact" not in sla_badge(action, now=timezone.now())["text"]


def test_an_action_with_only_attempts_cannot_be_resolved(action, ambassador):
    svc.action_item_contact_log(action=action, channel="phone", outcome="no_answer", by=ambassador)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(
            action=action, to_status=S.RESOLVED, by=ambassador, outcome="solved", customer_told=True
        )
    assert "to_status" in errors_of(excinfo)


def test_contact_with_unknown_channel_is_a_field_error(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_contact_log(action=action, channel="pigeon", outcome="reached", by=ambassador)
    assert "channel" in errors_of(excinfo)


def test_contacts_are_not_logged_on_systemic_actions(outer, ambassador):
    with pytest.raises(ValidationError):
        svc.action_item_contact_log(action=outer, channel="phone", outcome="reached", by=ambassador)


# --- inner loop transitions -------------------------------------------------------------------


def test_inner_loop_walks_from_new_to_resolved(action, owner, ambassador):
    svc.action_item_assign(action=action, owner=owner, by=ambassador)
    svc.action_item_contact_log(action=action, channel="phone", outcome="follow_up", by=owner)
    svc.action_item_transition(action=action, to_status=S.WAITING, by=owner)
    done = svc.action_item_transition(
        action=action, to_status=S.RESOLVED, by=owner, outcome="solved", customer_told=True
    )
    assert done.status == S.RESOLVED
    assert done.closed_at is not None and done.customer_told_at is not None
    assert (done.resolution_outcome, done.customer_told) == ("solved", True)


def test_resolving_needs_an_outcome_and_whether_the_customer_was_told(action, ambassador):
    svc.action_item_contact_log(action=action, channel="phone", outcome="reached", by=ambassador)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=action, to_status=S.RESOLVED, by=ambassador)
    assert set(errors_of(excinfo)) == {"outcome", "customer_told"}
    action.refresh_from_db()
    assert action.status == S.CONTACTED


def test_resolving_with_the_customer_not_told_records_a_no(action, ambassador):
    svc.action_item_contact_log(action=action, channel="phone", outcome="reached", by=ambassador)
    done = svc.action_item_transition(
        action=action, to_status=S.RESOLVED, by=ambassador, outcome="explained", customer_told=False
    )
    assert (done.status, done.customer_told, done.customer_told_at) == (S.RESOLVED, False, None)


# --- reopen ----------------------------------------------------------------------------------


def _resolved(action, by):
    svc.action_item_contact_log(action=action, channel="phone", outcome="reached", by=by)
    return svc.action_item_transition(
        action=action, to_status=S.RESOLVED, by=by, outcome="solved", customer_told=True
    )


def test_a_closed_action_is_reopened_with_a_reason_and_the_history_kept(action, ambassador):
    closed = _resolved(action, ambassador)
    reopened = svc.action_item_reopen(
        action=action,
        reason="Customer called again: still broken",
        by=ambassador,
        expected_version=closed.version,
    )
    assert reopened.status == S.CONTACTED  # someone had spoken with them
    assert reopened.closed_at is None and reopened.resolution_outcome == ""
    record = ActionReopening.objects.get(action=action)
    assert (record.previous_status, record.reason, record.by) == (
        S.RESOLVED,
        "Customer called again: still broken",
        ambassador,
    )
    assert record.previous_closed_at == closed.closed_at
    reasons = list(action.history.order_by("-history_date").values_list("history_change_reason", flat=True))
    assert reasons[0] == "Reopened: Customer called again: still broken"
    assert "Status: Resolved" in reasons
    entries = [e.text for e in action_timeline(action=action)]
    assert any(t.startswith("Reopened (was Resolved)") for t in entries)


def test_a_never_contacted_action_reopens_as_assigned(action, ambassador):
    svc.action_item_transition(action=action, to_status=S.NO_ACTION, reason="Spam", by=ambassador)
    assert svc.action_item_reopen(action=action, reason="Not spam", by=ambassador).status == S.ASSIGNED


def test_reopening_needs_a_reason_and_a_closed_action(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_reopen(action=action, reason="why not", by=ambassador)
    assert "reason" in errors_of(excinfo)
    _resolved(action, ambassador)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_reopen(action=action, reason="  ", by=ambassador)
    assert "reason" in errors_of(excinfo)


def test_a_systemic_action_reopens_to_investigating_unless_another_is_open(dept_a, ambassador):
    theme = ThemeFactory()
    fixed = ActionItemFactory(department=dept_a, owner=ambassador, loop="outer", theme=theme, status=S.FIXED)
    assert svc.action_item_reopen(action=fixed, reason="Came back", by=ambassador).status == S.INVESTIGATING
    svc.action_item_transition(action=fixed, to_status=S.NO_ACTION, reason="Dup", by=ambassador)
    ActionItemFactory(department=dept_a, owner=ambassador, loop="outer", theme=theme)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_reopen(action=fixed, reason="Again", by=ambassador)
    assert "already open" in errors_of(excinfo)["reason"][0]


def test_resolving_before_any_contact_is_an_invalid_transition(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=action, to_status=S.RESOLVED, by=ambassador)
    assert "to_status" in errors_of(excinfo)


@pytest.mark.parametrize("status", [S.UNREACHABLE, S.NO_ACTION])
def test_closing_without_resolving_requires_a_reason(action, ambassador, status):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=action, to_status=status, by=ambassador)
    assert "reason" in errors_of(excinfo)


def test_closing_as_unreachable_with_a_reason_records_it(action, ambassador):
    done = svc.action_item_transition(
        action=action, to_status=S.UNREACHABLE, reason="Three calls, no answer", by=ambassador
    )
    assert (done.status, done.close_reason) == (S.UNREACHABLE, "Three calls, no answer")
    assert done.closed_at is not None


def test_a_closed_action_cannot_move_again(action, ambassador):
    svc.action_item_transition(action=action, to_status=S.NO_ACTION, reason="Spam", by=ambassador)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=action, to_status=S.ASSIGNED, by=ambassador)
    assert "to_status" in errors_of(excinfo)


def test_inner_actions_cannot_be_marked_fixed(action, ambassador):
    with pytest.raises(ValidationError):
        svc.action_item_transition(action=action, to_status=S.FIXED, by=ambassador)


# --- outer loop ----------------------------------------------------------------------------------


def test_closing_a_systemic_action_requires_root_cause_fix_measure_and_date(outer, ambassador):
    svc.action_item_transition(action=outer, to_status=S.INVESTIGATING, by=ambassador)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=outer, to_status=S.FIXED, by=ambassador)
    assert set(errors_of(excinfo)) == {"root_cause", "fix", "success_measure", "verification_date"}


def test_verification_date_must_be_in_the_future(outer, ambassador, measure):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(
            action=outer,
            to_status=S.FIXED,
            by=ambassador,
            root_cause="Carrier",
            fix="New carrier",
            success_measure=measure,
            verification_date=timezone.localdate(),
        )
    assert set(errors_of(excinfo)) == {"verification_date"}


def test_closing_a_systemic_action_records_root_cause_and_fix(outer, ambassador, measure):
    svc.action_item_transition(action=outer, to_status=S.INVESTIGATING, by=ambassador)
    done = svc.action_item_transition(
        action=outer,
        to_status=S.FIXED,
        by=ambassador,
        root_cause="Carrier misses Friday pickups",
        fix="Second carrier on Fridays",
        success_measure=measure,
        verification_date=timezone.localdate() + timedelta(days=30),
    )
    assert (done.status, done.root_cause, done.success_measure) == (
        S.FIXED,
        "Carrier misses Friday pickups",
        measure,
    )


# --- conflicts ----------------------------------------------------------------------------------


def test_a_stale_version_raises_a_conflict_instead_of_overwriting(action, ambassador, owner):
    svc.action_item_set_priority(action=action, priority="high", by=owner, expected_version=1)
    with pytest.raises(svc.ActionConflict) as excinfo:
        svc.action_item_set_priority(action=action, priority="low", by=ambassador, expected_version=1)
    assert "changed by" in excinfo.value.messages[0]
    action.refresh_from_db()
    assert action.priority == "high"


def test_the_current_version_is_accepted(action, ambassador):
    updated = svc.action_item_transition(
        action=action, to_status=S.NO_ACTION, reason="Duplicate", by=ambassador, expected_version=1
    )
    assert updated.version == 2


def test_a_conflict_is_a_validation_error(action, ambassador):
    svc.action_item_set_priority(action=action, priority="high", by=ambassador)
    with pytest.raises(ValidationError):
        svc.action_item_snooze(
            action=action, until=timezone.localdate() + timedelta(days=1), by=ambassador, expected_version=1
        )


# --- comments and mentions ------------------------------------------------------------------------


def test_mentioning_a_colleague_notifies_them(action, ambassador, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comment = svc.action_item_comment(
            action=action, body="@owner can you call them today?", by=ambassador
        )
    assert list(comment.mentions.all()) == [owner]
    note = Notification.objects.get(user=owner)
    assert note.url == f"/actions/{action.pk}/"
    assert "mentioned you" in note.subject
    assert mail.outbox[0].to == [owner.email]


def test_mentioning_someone_outside_the_department_does_not_notify_them(action, ambassador, ambassador_b):
    comment = svc.action_item_comment(action=action, body="@ambassador_b have a look", by=ambassador)
    assert comment.mentions.count() == 0
    assert not Notification.objects.filter(user=ambassador_b).exists()


def test_an_empty_comment_is_a_field_error(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_comment(action=action, body="   ", by=ambassador)
    assert "body" in errors_of(excinfo)


def test_comments_do_not_bump_the_version(action, ambassador):
    svc.action_item_comment(action=action, body="Noted", by=ambassador)
    action.refresh_from_db()
    assert action.version == 1
    assert ActionComment.objects.filter(action=action).count() == 1


# --- bulk and undo --------------------------------------------------------------------------------


def test_bulk_assign_changes_every_selected_action(dept_a, ambassador, owner):
    items = ActionItemFactory.create_batch(3, department=dept_a, owner=ambassador)
    result = svc.action_items_bulk(ids=[i.pk for i in items], operation="assign", by=ambassador, owner=owner)
    assert result.count == 3
    assert set(ActionItem.objects.values_list("owner_id", "status")) == {(owner.pk, S.ASSIGNED)}


def test_bulk_is_all_or_nothing(dept_a, ambassador):
    fine = ActionItemFactory(department=dept_a, owner=ambassador)
    closed = ActionItemFactory(department=dept_a, owner=ambassador, status=S.RESOLVED)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_items_bulk(
            ids=[fine.pk, closed.pk], operation="priority", by=ambassador, priority="urgent"
        )
    assert f"#{closed.pk}" in errors_of(excinfo)["ids"][0]
    fine.refresh_from_db()
    assert fine.priority == "normal"


def test_bulk_close_then_undo_restores_status_and_owner(dept_a, ambassador):
    items = ActionItemFactory.create_batch(2, department=dept_a, owner=ambassador, status=S.ASSIGNED)
    result = svc.action_items_bulk(
        ids=[i.pk for i in items], operation="close", by=ambassador, to_status=S.NO_ACTION, reason="Spam wave"
    )
    assert set(ActionItem.objects.values_list("status", flat=True)) == {S.NO_ACTION}
    undone = svc.action_items_bulk_undo(undo=result.as_session()["items"], by=ambassador)
    assert (undone.restored, undone.skipped) == (2, [])
    assert set(ActionItem.objects.values_list("status", "close_reason", "closed_at")) == {
        (S.ASSIGNED, "", None)
    }


def test_undo_restores_snooze_dates(dept_a, ambassador):
    earlier = timezone.now() + timedelta(days=1)
    item = ActionItemFactory(department=dept_a, owner=ambassador, snoozed_until=earlier)
    result = svc.action_items_bulk(
        ids=[item.pk], operation="snooze", by=ambassador, until=timezone.localdate() + timedelta(days=9)
    )
    svc.action_items_bulk_undo(undo=result.undo, by=ambassador)
    item.refresh_from_db()
    assert item.snoozed_until == earlier


def test_undo_leaves_alone_an_action_changed_since(dept_a, ambassador, owner):
    a, b = ActionItemFactory.create_batch(2, department=dept_a, owner=ambassador)
    result = svc.action_items_bulk(ids=[a.pk, b.pk], operation="priority", by=ambassador, priority="urgent")
    svc.action_item_set_priority(action=b, priority="low", by=owner)
    undone = svc.action_items_bulk_undo(undo=result.undo, by=ambassador)
    assert (undone.restored, undone.skipped) == (1, [b.pk])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.priority, b.priority) == ("normal", "low")


def test_bulk_needs_a_selection(ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_items_bulk(ids=[], operation="priority", by=ambassador, priority="high")
    assert "ids" in errors_of(excinfo)


def test_a_new_action_reaches_contacted_only_by_logging_a_contact(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=action, to_status=S.CONTACTED, by=ambassador)
    assert "to_status" in errors_of(excinfo)


def test_waking_an_action_that_is_not_snoozed_asks_for_a_date(action, ambassador):
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_snooze(action=action, until=None, by=ambassador)
    assert "until" in errors_of(excinfo)


@pytest.mark.parametrize(
    "loop,start,to,extra",
    [
        ("inner", S.NEW, S.ASSIGNED, {}),
        ("inner", S.CONTACTED, S.WAITING, {}),
        ("inner", S.WAITING, S.CONTACTED, {}),
        ("inner", S.WAITING, S.RESOLVED, {"outcome": "solved", "customer_told": True}),
        ("inner", S.CONTACTED, S.NO_ACTION, {"reason": "Customer withdrew"}),
        ("outer", S.NEW, S.INVESTIGATING, {}),
        ("outer", S.ASSIGNED, S.INVESTIGATING, {}),
        ("outer", S.INVESTIGATING, S.NO_ACTION, {"reason": "Not systemic after all"}),
    ],
)
def test_each_allowed_transition_is_accepted(dept_a, ambassador, loop, start, to, extra):
    item = ActionItemFactory(department=dept_a, owner=ambassador, loop=loop, status=start)
    assert svc.action_item_transition(action=item, to_status=to, by=ambassador, **extra).status == to


@pytest.mark.parametrize(
    "loop,start,to",
    [
        ("inner", S.NEW, S.WAITING),
        ("inner", S.ASSIGNED, S.RESOLVED),
        ("inner", S.NEW, S.INVESTIGATING),
        ("outer", S.NEW, S.RESOLVED),
        ("outer", S.INVESTIGATING, S.WAITING),
        ("outer", S.FIXED, S.VERIFIED),
    ],
)
def test_each_invalid_transition_is_a_to_status_error(dept_a, ambassador, loop, start, to):
    item = ActionItemFactory(department=dept_a, owner=ambassador, loop=loop, status=start)
    with pytest.raises(ValidationError) as excinfo:
        svc.action_item_transition(action=item, to_status=to, by=ambassador)
    assert "to_status" in errors_of(excinfo)
