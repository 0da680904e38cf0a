"""Journey 2: a CX leader sets up a program and its sources, then imports a CSV.

The intake URL and token are shown once (copyable); a CSV is previewed before anything is
stored, the import's progress is polled by htmx until it is done, and every row that could
not be imported is listed with the row number a spreadsheet shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from feedback.models import ImportJob, OutboxEvent, Program, Response, Source
from feedback.tasks import import_run_task
from tests.browser.conftest import a11y, login, shot
from tests.factories import SuccessMeasureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = """id,email,nps,comment
r-1,ann@example.org,9,Quick and friendly help
r-2,bob@example.org,42,A score off the scale
r-3,cat@example.org,3,The parcel came late again
r-4,dan@example.org,,
r-5,eve@example.org,ten,A word instead of a number
r-6,fay@example.org,10,
"""


def _create_program(page: Page, *, department: str, measure: str) -> Program:
    page.goto("/programs/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New feedback program")
    a11y(page, context="program form")
    page.get_by_role("button", name="Save program").click()  # nothing filled in: explained
    expect(page.locator("#program-form .field-errors").first).to_be_visible()
    page.get_by_label("Name").fill("Post-delivery survey")
    page.get_by_label("Kind").select_option(label="Post-support CSAT")
    page.get_by_label("Purpose").fill("Tells Support which deliveries to fix first.")
    page.get_by_label("Success measure").select_option(label=measure)
    page.locator("#id_department").select_option(label=department)
    page.get_by_role("button", name="Save program").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Post-delivery survey")
    expect(page.get_by_text("Tells Support which deliveries to fix first.")).to_be_visible()
    return Program.objects.get(name="Post-delivery survey")


def _create_source(page: Page, *, name: str, kind: str, field_map: dict[str, str] | None = None) -> None:
    form = page.locator("#source-form")
    form.get_by_label("Name:", exact=True).fill(name)
    form.get_by_label("Kind:", exact=True).select_option(kind)
    for role, column in (field_map or {}).items():
        form.get_by_label(f"Field for {role}:", exact=True).fill(column)
    form.get_by_role("button", name="Create source").click()
    expect(page.get_by_test_id("source-secrets")).to_contain_text(name)


def test_leader_creates_program_and_typeform_source_and_copies_the_intake_url(
    page: Page, leader, dept_a
) -> None:  # type: ignore[no-untyped-def]
    measure = SuccessMeasureFactory(name="Repeat purchase rate")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, "leader")
    program = _create_program(page, department=dept_a.name, measure=measure.name)
    expect(page.get_by_text("No sources yet")).to_be_visible()
    a11y(page, context="program sources (empty)")

    _create_source(page, name="Typeform after delivery", kind="typeform")
    source = Source.objects.get(program=program, name="Typeform after delivery")
    intake = page.get_by_label("Intake URL (paste into the vendor)")
    expect(intake).to_have_value(f"{page.url.split('/programs/')[0]}/api/v1/intake/{source.slug}/")
    expect(page.get_by_label("Signing secret")).not_to_have_value("")  # generated for Typeform
    a11y(page, context="source created (secrets shown once)")
    shot(page, "source-created")

    page.get_by_role("button", name="Copy URL").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == intake.input_value()

    page.goto(f"/programs/{program.slug}/sources/")  # shown once: a later visit never shows the token
    expect(page.get_by_test_id("source-secrets")).to_have_count(0)
    row = page.locator(f"#source-{source.slug}")
    expect(row).to_contain_text("Typeform")
    expect(row).to_contain_text(f"/api/v1/intake/{source.slug}/")


def test_leader_imports_a_csv_watches_progress_and_sees_row_errors(
    page: Page, leader, dept_a, tmp_path: Path, queued_tasks: None
) -> None:  # type: ignore[no-untyped-def]
    measure = SuccessMeasureFactory(name="Repeat purchase rate")
    login(page, "leader")
    program = _create_program(page, department=dept_a.name, measure=measure.name)
    _create_source(
        page,
        name="Survey export",
        kind="csv",
        field_map={"external_id": "id", "email": "email", "nps": "nps", "comment": "comment"},
    )
    source = Source.objects.get(program=program, name="Survey export")

    page.locator(f"#source-{source.slug}").get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Survey export")
    expect(page.get_by_text("No imports yet.")).to_be_visible()
    a11y(page, context="import upload")
    page.get_by_role("button", name="Upload and preview").click()  # no file: a field error
    expect(page.locator("#import-form .field-errors")).to_be_visible()

    csv_path = tmp_path / "survey-export.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and preview").click()

    preview = page.get_by_test_id("import-preview")
    expect(preview.locator("tbody tr")).to_have_count(6)
    expect(preview).to_contain_text("Quick and friendly help")
    expect(preview.locator("tbody tr").nth(4)).to_contain_text("a whole number is required")  # row 6
    assert Response.objects.filter(source=source).count() == 0  # nothing stored before confirming
    a11y(page, context="import preview")
    shot(page, "import-preview")

    page.get_by_test_id("import-confirm").click()
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "pending")  # queued: nothing ran yet
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    expect(page.get_by_test_id("import-status")).to_have_text("Pending")
    job = ImportJob.objects.get(source=source)
    event = OutboxEvent.objects.get(kind=OutboxEvent.Kind.IMPORT_RUN, object_id=job.pk)
    import_run_task(job.pk, event_id=event.pk)  # what the worker does with the queued message
    expect(progress).to_have_attribute("data-status", "done")  # the open page polled and updated
    expect(page.get_by_test_id("import-status")).to_have_text("Done")
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(page.get_by_test_id("import-created")).to_have_text("3")
    errors = page.get_by_test_id("import-errors")
    expect(errors.locator("tbody tr")).to_have_count(3)
    expect(errors.locator("tbody th")).to_have_text(["3", "5", "6"])
    expect(errors.locator("tbody tr").nth(0)).to_contain_text("nps")
    expect(errors.locator("tbody tr").nth(1)).to_contain_text("A score or a comment is required")
    a11y(page, context="import done with errors")
    shot(page, "import-done")

    page.get_by_role("link", name="See the responses").click()
    expect(page.get_by_text("Quick and friendly help")).to_be_visible()
    a11y(page, context="responses of the imported source")
    assert set(Response.objects.filter(source=source).values_list("external_id", flat=True)) == {
        "r-1",
        "r-3",
        "r-6",
    }
