"""The in-app inbox: items per person, the bell's count, mark read, e-mail per preference."""

from __future__ import annotations

import pytest
from django.core import mail

from charter.inbox import inbox_email_retry_due, inbox_mark_read, inbox_notify
from charter.models import InboxItem, User
from tests.factories import UserFactory
from tests.querycount import count_queries


def _notify(users, **kw):
    args = {
        "kind": "approval-requested",
        "text": "Mission v3 awaits your approval",
        "url": "/mission/versions/3/",
    }
    args.update(kw)
    inbox_notify(users=users, **args)


def test_notify_creates_an_item_per_person_and_counts_it(django_capture_on_commit_callbacks):
    a, b = UserFactory(email="a@example.com"), UserFactory(email="b@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        _notify([a, b])
    assert InboxItem.objects.filter(user=a, text="Mission v3 awaits your approval").exists()
    assert User.objects.get(pk=a.pk).inbox_unread == 1
    assert User.objects.get(pk=b.pk).inbox_unread == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]


def test_email_respects_the_per_user_preference(django_capture_on_commit_callbacks):
    wants = UserFactory(email="wants@example.com")
    declines = UserFactory(email="declines@example.com", inbox_email=False)
    no_address = UserFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        _notify([wants, declines, no_address])
    assert [m.to for m in mail.outbox] == [["wants@example.com"]]
    statuses = dict(InboxItem.objects.values_list("user__username", "email_status"))
    assert statuses == {wants.username: "sent", declines.username: "", no_address.username: ""}


def test_subject_is_header_safe(django_capture_on_commit_callbacks):
    user = UserFactory(email="a@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        _notify([user], text="Evil\r\nBcc: victim@example.com title")
    assert len(mail.outbox) == 1
    subject = mail.outbox[0].subject
    assert "\n" not in subject and "\r" not in subject
    assert subject == "[cxgov] Evil Bcc: victim@example.com title"
    assert mail.outbox[0].bcc == []


def test_nothing_is_recorded_when_the_callers_transaction_rolls_back(django_capture_on_commit_callbacks):
    from django.db import transaction

    user = UserFactory(email="a@example.com")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _notify([user])
        raise RuntimeError("approval failed")
    assert not InboxItem.objects.exists()
    assert mail.outbox == []


def test_dedupe_key_and_exclude_skip_people(django_capture_on_commit_callbacks):
    actor, other = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        _notify([actor, other], dedupe_key="mission-3-review", exclude=actor)
        _notify([actor, other], dedupe_key="mission-3-review")
    assert InboxItem.objects.filter(user=other).count() == 1
    assert InboxItem.objects.filter(user=actor).count() == 1  # the second call was not excluded


def test_failed_email_is_recorded_and_retried(django_capture_on_commit_callbacks, settings, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory(email="a@example.com")

    def refuse(self, *a, **kw):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        _notify([user])
    item = InboxItem.objects.get()
    assert item.email_status == "failed" and "SMTP down" in item.email_error
    monkeypatch.undo()
    assert inbox_email_retry_due(now=timezone.now() + timedelta(minutes=5)) == 1
    item.refresh_from_db()
    assert item.email_status == "sent" and len(mail.outbox) == 1


def test_mark_read_recounts_and_touches_only_own_items():
    me, other = UserFactory(), UserFactory()
    _notify([me, other])
    _notify([me], text="3 actions assigned to you")
    mine = list(InboxItem.objects.filter(user=me).values_list("pk", flat=True))
    theirs = InboxItem.objects.get(user=other).pk
    assert inbox_mark_read(user=me, item_ids=[mine[0], theirs]) == 1
    assert User.objects.get(pk=me.pk).inbox_unread == 1
    assert InboxItem.objects.get(pk=theirs).read_at is None
    inbox_mark_read(user=me)
    assert User.objects.get(pk=me.pk).inbox_unread == 0


def test_bell_shows_the_count_without_a_query(client, leader):
    _notify([leader])
    client.force_login(leader)
    html = client.get("/inbox/").content.decode()
    assert 'id="inbox-count">1' in html
    assert "Mission v3 awaits your approval" in html
    # the count comes from the user row: a page with and without unread items costs the same
    with_items = count_queries(lambda: client.get("/inbox/?show=unread"))
    inbox_mark_read(user=leader)
    assert count_queries(lambda: client.get("/inbox/?show=unread")) <= with_items


def test_opening_an_item_marks_it_read_and_follows_its_link(client, leader):
    _notify([leader])
    item = InboxItem.objects.get()
    client.force_login(leader)
    response = client.post("/inbox/read/", {"item": item.pk, "open": "1"})
    assert response.status_code == 302 and response["Location"] == "/mission/versions/3/"
    item.refresh_from_db()
    assert item.read_at is not None


def test_someone_elses_item_cannot_be_opened(client, leader, executive):
    _notify([executive])
    item = InboxItem.objects.get()
    client.force_login(leader)
    response = client.post("/inbox/read/", {"item": item.pk, "open": "1"})
    assert response["Location"] == "/inbox/"
    item.refresh_from_db()
    assert item.read_at is None


def test_preference_can_be_turned_off(client, leader):
    client.force_login(leader)
    client.post("/inbox/preference/", {})
    assert User.objects.get(pk=leader.pk).inbox_email is False
    client.post("/inbox/preference/", {"inbox_email": "on"})
    assert User.objects.get(pk=leader.pk).inbox_email is True
