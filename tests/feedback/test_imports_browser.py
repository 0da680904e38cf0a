"""CSV import in the browser: upload, preview with the field map, confirm, progress partial."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from feedback.models import ImportJob, OutboxEvent, Response
from tests.factories import SourceFactory


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def source(dept_a):
    return SourceFactory(
        slug="support-csv",
        kind="csv",
        program__slug="support-csat",
        program__department=dept_a,
        field_map={"external_id": "Ticket", "csat": "Rating", "comment": "Comment"},
    )


CSV = "Ticket,Rating,Comment\nT1,5,Quick fix\nT2,9,Too high\nT3,2,<b>Slow</b>\n"


def upload(client, source) -> ImportJob:
    url = reverse("feedback:import-upload", kwargs={"slug": "support-csat", "source_slug": source.slug})
    reply = client.post(
        url, {"file": SimpleUploadedFile("export.csv", CSV.encode(), content_type="text/csv")}
    )
    assert reply.status_code == 302, reply.content
    job = ImportJob.objects.get()
    assert reply["Location"] == reverse("feedback:import-detail", kwargs={"pk": job.pk})
    return job


def test_uploading_shows_a_preview_and_imports_nothing_yet(leader_client, source):
    job = upload(leader_client, source)
    page = leader_client.get(reverse("feedback:import-detail", kwargs={"pk": job.pk}))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="import-preview"' in text
    assert "Quick fix" in text
    assert "CSAT 5" in text
    assert "outside its scale" not in text  # scales are checked on import; the preview shows the mapping
    assert "&lt;b&gt;Slow&lt;/b&gt;" in text
    assert Response.objects.count() == 0
    assert not OutboxEvent.objects.filter(kind="import_run").exists()


def test_confirming_runs_the_import_and_the_progress_partial_shows_errors(
    leader_client, source, django_capture_on_commit_callbacks
):
    job = upload(leader_client, source)
    with django_capture_on_commit_callbacks(execute=True):
        reply = leader_client.post(reverse("feedback:import-start", kwargs={"pk": job.pk}))
    assert reply.status_code == 302
    partial = leader_client.get(
        reverse("feedback:import-detail", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true"
    )
    text = partial.content.decode()
    assert text.lstrip().startswith('<section id="import-progress"')
    assert 'data-status="done"' in text
    assert "hx-trigger" not in text  # polling stops when done
    assert '<span data-testid="import-created">2</span>' in text
    assert "CSAT 9 is outside its scale 1–5." in text
    assert Response.objects.count() == 2


def test_a_queued_import_polls_every_second(leader_client, source):
    job = upload(leader_client, source)
    leader_client.post(
        reverse("feedback:import-start", kwargs={"pk": job.pk})
    )  # no commit hooks: stays queued
    page = leader_client.get(reverse("feedback:import-detail", kwargs={"pk": job.pk}) + "?queued=1")
    assert 'hx-trigger="every 1s"' in page.content.decode()


def test_confirming_twice_queues_one_run(leader_client, source):
    job = upload(leader_client, source)
    url = reverse("feedback:import-start", kwargs={"pk": job.pk})
    leader_client.post(url)
    leader_client.post(url)
    assert OutboxEvent.objects.filter(kind="import_run", object_id=job.pk).count() == 1


def test_an_upload_without_a_file_shows_the_field_error(leader_client, source):
    url = reverse("feedback:import-upload", kwargs={"slug": "support-csat", "source_slug": source.slug})
    reply = leader_client.post(url, {})
    assert reply.status_code == 200
    assert b"This field is required" in reply.content


def test_imports_of_other_departments_are_404(ambassador_b, leader_client, source):
    from django.test import Client

    job = upload(leader_client, source)
    client = Client()
    client.force_login(ambassador_b)
    assert client.get(reverse("feedback:import-detail", kwargs={"pk": job.pk})).status_code == 404
