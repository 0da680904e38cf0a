"""Vendor times reach the database (issue 23): ``submitted_at`` is the vendor's own time,
``received_at`` is when it reached us, and the receipt time stands in only when the vendor
sent none. CSV files: the column mapped to ``submitted_at``, in common formats, a per-row
error for a date nobody can read."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from feedback.imports import import_job_create, import_job_run
from feedback.models import Response
from tests.factories import SourceFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_qualtrics_event_keeps_completed_date_in_the_sources_zone(client, dept_a):
    source = SourceFactory(
        slug="qualtrics-berlin",
        kind="qualtrics",
        secret="kyma4ever",  # the published test vector's key (SOURCES.md)
        timezone="Europe/Berlin",
        program__department=dept_a,
    )
    body = (FIXTURES / "qualtrics" / "completed_response_signed.form").read_bytes()
    before = timezone.now()
    reply = client.post(
        f"/api/v1/intake/{source.slug}/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 202, reply.content
    response = Response.objects.get(source=source)
    assert response.status == "awaiting_details"
    # "2019-06-25 07:58:25", zone-less, read as Berlin summer time (UTC+2)
    assert response.submitted_at == datetime(2019, 6, 25, 5, 58, 25, tzinfo=UTC)
    assert response.received_at >= before  # the receipt time, kept apart


def test_a_generic_delivery_without_a_time_takes_the_receipt_time(client, dept_a):
    source = SourceFactory(slug="no-time", program__department=dept_a)
    reply = client.post(
        f"/api/v1/intake/{source.slug}/",
        data=json.dumps({"external_id": "n-1", "scores": {"nps": 9}}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )
    assert reply.status_code == 201
    response = Response.objects.get(source=source)
    assert abs(response.submitted_at - response.received_at) < timedelta(seconds=5)


def test_a_generic_delivery_keeps_its_submitted_at(client, dept_a):
    source = SourceFactory(slug="with-time", program__department=dept_a)
    reply = client.post(
        f"/api/v1/intake/{source.slug}/",
        data=json.dumps({"external_id": "t-1", "submitted_at": "2026-01-05T10:00:00Z", "scores": {"nps": 9}}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {source.token}"},
    )
    assert reply.status_code == 201
    response = Response.objects.get(source=source)
    assert response.submitted_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert response.received_at > response.submitted_at


CSV_DATES = (
    "Ticket,Answered on,Score\n"
    "T-1,2026-03-04T09:15:00Z,9\n"  # ISO 8601
    "T-2,3/5/2026 14:30,7\n"  # M/D/YYYY h:mm
    "T-3,06.03.2026,3\n"  # DD.MM.YYYY
    "T-4,the 7th of March,8\n"  # nobody can read this
    "T-5,,9\n"  # no date: the import's time
)


def test_csv_dates_in_three_formats_land_in_submitted_at_and_a_bad_one_is_a_row_error(dept_a):
    source = SourceFactory(
        slug="csv-dates",
        kind="csv",
        program__department=dept_a,
        field_map={"external_id": "Ticket", "submitted_at": "Answered on", "nps": "Score"},
    )
    job = import_job_create(source=source, fileobj=io.BytesIO(CSV_DATES.encode()), name="d.csv", start=False)
    before = timezone.now()
    job = import_job_run(job_id=job.id)
    assert (job.status, job.total_rows, job.created) == ("done", 5, 4)
    assert [e["row"] for e in job.errors] == [5]
    assert "Answered on" in job.errors[0]["message"] and "the 7th of March" in job.errors[0]["message"]
    times = dict(Response.objects.filter(source=source).values_list("external_id", "submitted_at"))
    assert times["T-1"] == datetime(2026, 3, 4, 9, 15, tzinfo=UTC)
    assert times["T-2"] == datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    assert times["T-3"] == datetime(2026, 3, 6, tzinfo=UTC)
    assert times["T-5"] >= before
    assert "T-4" not in times
