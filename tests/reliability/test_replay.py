"""A captured signed delivery replayed later is refused; replayed within the window it is a
harmless duplicate (Standard Webhooks: timestamps older or newer than five minutes are refused)."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from feedback.models import RawDelivery, Response
from tests.factories import SourceFactory
from tests.security.test_hostile_input import FORMBRICKS_BODY, WHSEC, formbricks_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def formbricks_source():  # type: ignore[no-untyped-def]
    return SourceFactory(kind="formbricks", secret=WHSEC, field_map={"nps": "nps", "comment": "comment"})


def _send(source, headers):  # type: ignore[no-untyped-def]
    return Client().post(
        f"/api/v1/intake/{source.slug}/",
        data=FORMBRICKS_BODY,
        content_type="application/json",
        headers=headers,
    )


@pytest.mark.parametrize("offset", [-6 * 60, -3600, +6 * 60])
def test_a_delivery_signed_outside_the_five_minute_window_is_401(formbricks_source, offset: int) -> None:  # type: ignore[no-untyped-def]
    reply = _send(formbricks_source, formbricks_headers(FORMBRICKS_BODY, at=time.time() + offset))
    assert reply.status_code == 401
    assert not Response.objects.filter(source=formbricks_source).exists()
    assert RawDelivery.objects.get(source=formbricks_source).verdict == "rejected"


def test_a_replay_inside_the_window_is_a_duplicate_not_a_second_response(formbricks_source) -> None:  # type: ignore[no-untyped-def]
    headers = formbricks_headers(FORMBRICKS_BODY, at=time.time() - 60)
    first, again = _send(formbricks_source, headers), _send(formbricks_source, headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Response.objects.filter(source=formbricks_source).count() == 1


def test_a_stale_timestamp_cannot_be_refreshed_without_the_secret(formbricks_source) -> None:  # type: ignore[no-untyped-def]
    """Re-stamping a captured request breaks its signature, which covers the timestamp."""
    headers = formbricks_headers(FORMBRICKS_BODY, at=time.time() - 3600)
    headers["webhook-timestamp"] = str(int(time.time()))
    assert _send(formbricks_source, headers).status_code == 401
