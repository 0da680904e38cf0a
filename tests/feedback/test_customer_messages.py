"""Telling customers about a systemic fix sends real e-mails, one per eligible customer.

Mail goes through Django's mail backend: the locmem outbox, or, for the failing server, the
real SMTP backend pointed at a port where nothing listens (nothing mocked but the server).
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse
from django.utils import timezone

from feedback import actions as svc
from feedback import customer_messages as cm
from feedback.models import (
    ActionInsight,
    ActionItem,
    CustomerDelivery,
    EmailSuppression,
    Insight,
    Notification,
)
from tests.factories import ActionItemFactory, CustomerFactory, ResponseFactory

pytestmark = pytest.mark.django_db
S = ActionItem.Status
D = CustomerDelivery.Status


@pytest.fixture
def outer(dept_a, ambassador):
    return ActionItemFactory(
        department=dept_a,
        owner=ambassador,
        loop="outer",
        title="Late deliveries",
        status=S.FIXED,
        fix="A second evening van leaves the north depot.",
    )


def _linked(outer, dept, owner, *, customer=None, contacted=False, status=S.ASSIGNED):
    response = ResponseFactory(source__program__department=dept, customer=customer)
    insight = Insight.objects.create(
        response=response, department=dept, owner=owner, due_at=timezone.now(), systemic_action=outer
    )
    item = ActionItemFactory(
        department=dept,
        owner=owner,
        response=response,
        status=status,
        first_contacted_at=timezone.now() - timedelta(days=1) if contacted else None,
    )
    ActionInsight.objects.create(action=item, insight=insight)
    return item


@pytest.fixture
def people(outer, dept_a, owner):
    """Four customers behind the fix: two reachable, one unsubscribed, one without e-mail,
    plus an anonymous response."""
    ana = _linked(outer, dept_a, owner, customer=CustomerFactory(name="Ana Ruiz", email="ana@example.org"))
    bo = _linked(
        outer,
        dept_a,
        owner,
        customer=CustomerFactory(name="Bo Chen", email="BO@example.org "),
        contacted=True,
    )
    EmailSuppression.objects.create(email="gone@example.org", reason="unsubscribed")
    gone = _linked(outer, dept_a, owner, customer=CustomerFactory(name="Gone Away", email="gone@example.org"))
    nomail = _linked(outer, dept_a, owner, customer=CustomerFactory(name="No Mail", email=""))
    anon = _linked(outer, dept_a, owner, customer=None)
    return {"ana": ana, "bo": bo, "gone": gone, "nomail": nomail, "anon": anon}


def _send(outer, by, capture, body="Hello {name}, {fix}", subject="We fixed it"):
    with capture(execute=True):
        return cm.customer_message_send(action=outer, subject=subject, body=body, by=by)


def _customer_mails():
    return [m for m in mail.outbox if "List-Unsubscribe" in m.extra_headers]


def test_recipients_are_the_customers_with_an_email_who_did_not_opt_out(outer, people):
    eligible, excluded = cm.recipients_list(action=outer)
    assert [r.email for r in eligible] == ["ana@example.org", "bo@example.org"]
    reasons = {r.name: r.excluded for r in excluded}
    assert reasons == {
        "Gone Away": "Suppressed: Unsubscribed",
        "No Mail": "No e-mail address",
        "Anonymous": "Anonymous response",
    }


def test_telling_customers_sends_one_email_per_eligible_customer(
    outer, people, ambassador, django_capture_on_commit_callbacks
):
    _send(outer, ambassador, django_capture_on_commit_callbacks)
    sent = _customer_mails()
    assert sorted(m.to[0] for m in sent) == ["Ana Ruiz <ana@example.org>", "Bo Chen <bo@example.org>"]
    ana = next(m for m in sent if "ana@" in m.to[0])
    assert ana.subject == "We fixed it"
    assert ana.body.startswith("Hello Ana Ruiz, A second evening van leaves the north depot.")
    token = cm.unsubscribe_token("ana@example.org")
    assert reverse("feedback:unsubscribe", kwargs={"token": token}) in ana.body
    assert ana.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not any("gone@" in m.to[0] for m in mail.outbox)


def test_every_email_has_a_delivery_record(outer, people, ambassador, django_capture_on_commit_callbacks):
    message = _send(outer, ambassador, django_capture_on_commit_callbacks)
    rows = {d.email: d for d in message.deliveries.all()}
    assert set(rows) == {"ana@example.org", "bo@example.org"}
    for row in rows.values():
        assert (row.status, row.attempts, row.last_error) == (D.SENT, 1, "")
        assert row.sent_at is not None
    assert rows["ana@example.org"].inner_action == people["ana"]


def test_sending_leaves_every_inner_loop_open_and_records_the_notice(
    outer, people, ambassador, django_capture_on_commit_callbacks
):
    _send(outer, ambassador, django_capture_on_commit_callbacks)
    for key, item in people.items():
        item.refresh_from_db()
        assert item.is_open, key
        assert item.closed_at is None and item.customer_told_at is None
        assert (item.fix_notified_at is not None) == (key in {"ana", "bo"}), key
    ana = people["ana"]
    assert ana.history.latest().history_change_reason == "Notified of the fix (e-mail sent)"
    outer.refresh_from_db()
    assert outer.customer_told_at is not None
    never_contacted = [a.pk for a in cm.inner_loops_open(action=outer) if a.first_contacted_at is None]
    assert set(never_contacted) == {people[k].pk for k in ("ana", "gone", "nomail", "anon")}


def test_closure_rate_does_not_move_when_customers_are_emailed(
    outer, people, ambassador, dept_a, django_capture_on_commit_callbacks
):
    from reports.selectors import Period, loop_closure

    period = Period.last_days(30)

    def inner():
        return next(
            r for r in loop_closure(department_ids={dept_a.pk}, period=period) if r["loop"] == "inner"
        )

    before = inner()
    _send(outer, ambassador, django_capture_on_commit_callbacks)
    after = inner()
    assert (before["closed"], after["closed"]) == (0, 0)
    assert after["created"] == 5 and after["closure_rate"] == 0


def test_closure_rate_counts_only_loops_really_closed(dept_a, ambassador):
    from reports.selectors import Period, loop_closure

    now = timezone.now()
    ActionItemFactory(
        department=dept_a, owner=ambassador, status=S.RESOLVED, closed_at=now, first_contacted_at=now
    )
    ActionItemFactory(department=dept_a, owner=ambassador, status=S.UNREACHABLE, closed_at=now)
    # resolved without anyone having spoken with the customer (the old "tell customers"):
    ActionItemFactory(department=dept_a, owner=ambassador, status=S.RESOLVED, closed_at=now)
    ActionItemFactory(department=dept_a, owner=ambassador)
    row = next(
        r
        for r in loop_closure(department_ids={dept_a.pk}, period=Period.last_days(7))
        if r["loop"] == "inner"
    )
    assert (row["created"], row["closed"], row["closure_rate"]) == (4, 2, 50.0)


def test_owners_of_open_followups_are_told_their_followups_stay_open(
    outer, people, ambassador, owner, django_capture_on_commit_callbacks
):
    _send(outer, ambassador, django_capture_on_commit_callbacks)
    note = Notification.objects.get(user=owner, dedupe_key__startswith=f"fix-mail:{outer.pk}:")
    assert "stay open" in note.body


def test_a_message_needs_subject_and_text_and_a_fixed_action(outer, people, ambassador, dept_a):
    with pytest.raises(ValidationError) as excinfo:
        cm.customer_message_send(action=outer, subject=" ", body=" ", by=ambassador)
    assert set(excinfo.value.message_dict) == {"subject", "body"}
    open_one = ActionItemFactory(department=dept_a, owner=ambassador, loop="outer", status=S.INVESTIGATING)
    with pytest.raises(ValidationError):
        cm.customer_message_send(action=open_one, subject="x", body="y", by=ambassador)


def test_customers_are_sent_the_message_only_once(
    outer, people, ambassador, django_capture_on_commit_callbacks
):
    _send(outer, ambassador, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationError):
        cm.customer_message_send(action=outer, subject="Again", body="Again", by=ambassador)


def test_a_name_with_a_line_break_is_header_safe(
    outer, dept_a, owner, ambassador, django_capture_on_commit_callbacks
):
    evil = CustomerFactory(name="Eve\r\nBcc: all@example.org", email="eve@example.org")
    _linked(outer, dept_a, owner, customer=evil)
    message = _send(outer, ambassador, django_capture_on_commit_callbacks, subject="Hi {name}")
    delivery = message.deliveries.get()
    assert delivery.status == D.SENT
    sent = _customer_mails()[0]
    assert "\n" not in sent.to[0] and "\r" not in sent.to[0]
    assert sent.subject == "Hi Eve Bcc: all@example.org"
    assert sent.bcc == []


def test_a_notification_subject_with_a_line_break_still_goes_out(owner, django_capture_on_commit_callbacks):
    from feedback.notifications import notification_create

    with django_capture_on_commit_callbacks(execute=True):
        rows = notification_create(
            user=owner, subject="New: Eve\r\nBcc: x@example.org", body="b", dedupe_key="k1"
        )
    rows[0].refresh_from_db()
    assert rows[0].status == Notification.Status.SENT
    assert mail.outbox[-1].subject == "New: Eve Bcc: x@example.org"


# --- a failing mail server -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_dead_smtp_server_is_retried_then_reported_as_failed(
    outer, people, ambassador, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    message = _send(outer, ambassador, django_capture_on_commit_callbacks)
    for delivery in message.deliveries.all():
        assert delivery.status == D.FAILED
        assert delivery.attempts == cm.MAX_RETRIES + 1  # the first try and every retry
        assert "ConnectionRefusedError" in delivery.last_error
    for item in people.values():
        item.refresh_from_db()
        assert item.fix_notified_at is None and item.is_open
    outer.refresh_from_db()
    assert outer.customer_told_at is None  # nothing went out: nobody was told


class FlakyBackend(LocmemBackend):
    """A mail server that refuses the first connection of each message, then accepts."""

    failures: dict[str, int] = {}

    def send_messages(self, messages):  # type: ignore[no-untyped-def]
        key = messages[0].to[0]
        if FlakyBackend.failures.get(key, 0) < 1:
            FlakyBackend.failures[key] = FlakyBackend.failures.get(key, 0) + 1
            raise ConnectionResetError("server said goodbye")
        return super().send_messages(messages)


def test_a_refused_send_is_retried_and_then_sent(
    outer, people, ambassador, settings, django_capture_on_commit_callbacks
):
    FlakyBackend.failures = {}
    settings.EMAIL_BACKEND = "tests.feedback.test_customer_messages.FlakyBackend"
    message = _send(outer, ambassador, django_capture_on_commit_callbacks)
    for delivery in message.deliveries.all():
        assert (delivery.status, delivery.attempts, delivery.last_error) == (D.SENT, 2, "")
    assert len(_customer_mails()) == 2


def test_the_task_declares_its_retries():
    from feedback.tasks import customer_delivery_send_task

    assert customer_delivery_send_task.autoretry_for == (cm.DeliveryFailed,)
    assert customer_delivery_send_task.max_retries == cm.MAX_RETRIES
    assert customer_delivery_send_task.retry_backoff == 30


def test_failed_deliveries_can_be_queued_again(
    outer, people, ambassador, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    _send(outer, ambassador, django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert cm.customer_deliveries_retry(action=outer, by=ambassador) == 2
    assert set(CustomerDelivery.objects.values_list("status", flat=True)) == {D.SENT}


# --- unsubscribe ---------------------------------------------------------------------------


def test_the_unsubscribe_link_suppresses_the_address(client, outer, people):
    url = reverse("feedback:unsubscribe", kwargs={"token": cm.unsubscribe_token("Ana@Example.org")})
    page = client.get(url)
    assert page.status_code == 200 and b"a\xe2\x80\xa2" in page.content  # masked, no change yet
    assert not EmailSuppression.objects.filter(email="ana@example.org").exists()
    assert client.post(url).status_code == 200
    assert EmailSuppression.objects.get(email="ana@example.org").reason == "unsubscribed"
    eligible, _excluded = cm.recipients_list(action=outer)
    assert [r.email for r in eligible] == ["bo@example.org"]


def test_a_forged_unsubscribe_token_is_refused(client):
    url = reverse("feedback:unsubscribe", kwargs={"token": "not-a-token"})
    assert client.post(url).status_code == 400
    assert not EmailSuppression.objects.exists()


def test_an_address_suppressed_after_queueing_is_not_sent(outer, people, ambassador):
    message = cm.customer_message_send(
        action=outer, subject="Fixed", body="Hi", by=ambassador
    )  # not sent yet
    cm.email_unsubscribe(email="ana@example.org")
    ana = message.deliveries.get(email="ana@example.org")
    assert ana.status == D.CANCELLED
    assert cm.customer_delivery_send(delivery_id=ana.pk) is None
    assert mail.outbox == []


# --- pages -----------------------------------------------------------------------------------


def test_the_tell_page_shows_recipients_excluded_and_a_personal_preview(ambassador_client, outer, people):
    page = ambassador_client.get(reverse("feedback:systemic-tell", kwargs={"pk": outer.pk}))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Recipients (2)" in html and "Not e-mailed (3)" in html
    assert "Hello Ana Ruiz" in html  # the preview, for the first recipient
    preview = ambassador_client.get(
        reverse("feedback:systemic-tell", kwargs={"pk": outer.pk}),
        {"subject": "Hi {name}", "body": "Dear {name}", "customer": people["bo"].response.customer_id},
        headers={"HX-Request": "true"},
    )
    assert "Dear Bo Chen" in preview.content.decode() and "<html" not in preview.content.decode()


def test_sending_from_the_page_goes_to_the_delivery_list(
    ambassador_client, outer, people, django_capture_on_commit_callbacks
):
    url = reverse("feedback:systemic-tell", kwargs={"pk": outer.pk})
    with django_capture_on_commit_callbacks(execute=True):
        reply = ambassador_client.post(url, {"subject": "Fixed", "body": "Hi {name}", "send": "1"})
    deliveries = reverse("feedback:systemic-deliveries", kwargs={"pk": outer.pk})
    assert reply.status_code == 302 and reply["Location"] == deliveries
    page = ambassador_client.get(deliveries).content.decode()
    assert "2 sent" in page and "Never contacted" in page


def test_sending_with_an_empty_message_is_a_400_with_field_errors(ambassador_client, outer, people):
    url = reverse("feedback:systemic-tell", kwargs={"pk": outer.pk})
    reply = ambassador_client.post(url, {"subject": "", "body": "", "send": "1"})
    assert reply.status_code == 400
    assert not CustomerDelivery.objects.exists()


def test_another_department_cannot_see_the_recipients(ambassador_b, outer, people):
    from tests.conftest import _client_for

    client = _client_for(ambassador_b)
    assert client.get(reverse("feedback:systemic-tell", kwargs={"pk": outer.pk})).status_code == 404
    assert client.get(reverse("feedback:systemic-deliveries", kwargs={"pk": outer.pk})).status_code == 404


def test_reopening_through_the_action_page(ambassador_client, dept_a, ambassador):
    item = ActionItemFactory(
        department=dept_a, owner=ambassador, status=S.NO_ACTION, closed_at=timezone.now()
    )
    url = reverse("feedback:action-operate", kwargs={"pk": item.pk, "op": "reopen"})
    assert ambassador_client.post(url, {"version": item.version, "reason": ""}).status_code == 400
    assert (
        ambassador_client.post(url, {"version": item.version, "reason": "Customer wrote back"}).status_code
        == 302
    )
    item.refresh_from_db()
    assert item.status == S.ASSIGNED


def test_resolving_through_the_action_page_asks_for_outcome_and_told(ambassador_client, dept_a, ambassador):
    item = ActionItemFactory(department=dept_a, owner=ambassador)
    svc.action_item_contact_log(action=item, channel="phone", outcome="reached", by=ambassador)
    url = reverse("feedback:action-operate", kwargs={"pk": item.pk, "op": "transition"})
    reply = ambassador_client.post(url, {"version": 2, "to_status": "resolved"})
    assert reply.status_code == 400
    assert "Say what resolving achieved" in reply.content.decode()
    ok = ambassador_client.post(
        url, {"version": 2, "to_status": "resolved", "outcome": "solved", "customer_told": "no"}
    )
    assert ok.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.customer_told) == (S.RESOLVED, False)


def test_erasing_a_customer_scrubs_their_fix_emails(
    outer, people, ambassador, leader, django_capture_on_commit_callbacks
):
    from feedback.privacy import customer_erase

    _send(outer, ambassador, django_capture_on_commit_callbacks)
    ana = people["ana"].response.customer
    customer_erase(customer=ana, by=leader)
    row = CustomerDelivery.objects.get(customer=ana)
    assert "ana" not in row.email and row.name == ""
