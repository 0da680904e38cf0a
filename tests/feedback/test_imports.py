"""CSV import: batches, per-row errors, idempotent re-import, encodings, API and command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from feedback import imports, outbox
from feedback.imports import import_job_create, import_job_run, safe_original_name
from feedback.models import Customer, ImportJob, OutboxEvent, Response
from tests.factories import SourceFactory

GOOD_AND_BAD = (
    "id,email,nps,comment\n"
    "a1,ann@example.org,9,Great service\n"
    "a2,bob@example.org,11,Out of scale\n"
    "a3,not-an-email,5,Bad email\n"
    'a4,cy@example.org,3,"Late,\nvery late"\n'
    "a5,,seven,Not a number\n"
    "a6,dee@example.org,,Only a comment\n"
)


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def source(dept_a):
    return SourceFactory(
        slug="csv-src", kind="csv", program__department=dept_a, field_map={"external_id": "id", "nps": "nps"}
    )


def run(source, content: bytes | str, name: str = "file.csv") -> ImportJob:
    data = content.encode() if isinstance(content, str) else content
    job = import_job_create(source=source, fileobj=io.BytesIO(data), name=name, start=False)
    return import_job_run(job_id=job.id)


def test_good_rows_are_kept_and_bad_rows_reported_with_row_numbers(source):
    job = run(source, GOOD_AND_BAD)
    assert job.status == "done"
    assert (job.total_rows, job.created, job.duplicates) == (6, 3, 0)
    rows = [e["row"] for e in job.errors]
    assert rows == [3, 4, 6]  # header is row 1; the quoted newline stays inside row 5
    assert "outside its scale" in job.errors[0]["message"]
    assert set(Response.objects.values_list("external_id", flat=True)) == {"a1", "a4", "a6"}
    assert Response.objects.get(external_id="a4").comment == "Late,\nvery late"
    assert Response.objects.get(external_id="a1").nps_band == "promoter"


def test_reimporting_the_same_file_adds_nothing(source):
    run(source, GOOD_AND_BAD)
    again = run(source, GOOD_AND_BAD)
    assert (again.created, again.duplicates) == (0, 3)
    assert Response.objects.count() == 3
    assert OutboxEvent.objects.filter(kind="response_process").count() == 3


def test_two_identical_rows_without_ids_are_two_responses_and_reimport_adds_nothing(dept_a):
    source = SourceFactory(slug="noid", kind="csv", program__department=dept_a)
    content = "nps,comment\n9,Same words\n9,Same words\n4,Other\n"
    first = run(source, content)
    assert (first.created, first.duplicates) == (3, 0)
    second = run(source, content)
    assert (second.created, second.duplicates) == (0, 3)
    assert Response.objects.filter(source=source).count() == 3


def test_each_created_response_gets_one_outbox_row(source):
    run(source, GOOD_AND_BAD)
    ids = set(Response.objects.values_list("id", flat=True))
    assert set(OutboxEvent.objects.filter(kind="response_process").values_list("object_id", flat=True)) == ids


def test_batches_larger_than_one_flush_count_exactly(source, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 7)
    lines = ["id,nps"] + [f"r{i},{i % 11}" for i in range(50)] + ["r3,5", "r49,5"]
    job = run(source, "\n".join(lines) + "\n")
    assert (job.total_rows, job.created, job.duplicates, job.errors) == (52, 50, 2, [])


def test_cp1252_and_bom_files_are_read(source):
    cp = "id,nps,comment\nb1,8,Caf\xe9 cr\xe8me\n".encode("cp1252")
    bom = b"\xef\xbb\xbf" + "id,nps,comment\nb2,8,Caf\xe9\n".encode()
    run(source, cp)
    run(source, bom)
    assert Response.objects.get(external_id="b1").comment == "Café crème"
    assert Response.objects.get(external_id="b2").comment == "Café"


def test_customers_are_upserted_once_per_email(source):
    Customer.objects.create(email="ann@example.org", name="Ann")
    run(source, "id,email,nps\nc1,ANN@example.org,9\nc2,new@example.org,9\nc3,new@example.org,7\n")
    assert Customer.objects.count() == 2
    assert Response.objects.filter(customer__email="new@example.org").count() == 2


def test_a_missing_mapped_column_fails_the_job_clearly(source):
    job = run(source, "other,columns\n1,2\n")
    assert job.status == "failed"
    assert "not in the file" in job.errors[0]["message"]


def test_the_uploaded_name_is_a_label_never_a_path(source):
    job = import_job_create(
        source=source, fileobj=io.BytesIO(b"id,nps\nx,9\n"), name="../../etc/passwd", start=False
    )
    assert job.original_name == "passwd"
    stored = Path(job.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert "passwd" not in stored.name
    assert safe_original_name("..\\..\\evil\x00.csv") == "evil.csv"


def test_running_a_finished_job_again_changes_nothing(source):
    job = run(source, GOOD_AND_BAD)
    again = import_job_run(job_id=job.id)
    assert (again.created, again.duplicates) == (3, 0)
    assert Response.objects.count() == 3


def test_the_import_api_queues_a_job_and_reports_its_shape(
    leader_client, source, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("responses.csv", GOOD_AND_BAD.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        reply = leader_client.post(f"/api/v1/sources/{source.slug}/imports/", {"file": upload})
    assert reply.status_code == 201, reply.content
    job_id = reply.json()["id"]
    assert OutboxEvent.objects.filter(kind="import_run", object_id=job_id).exists()
    status = leader_client.get(f"/api/v1/imports/{job_id}/").json()
    assert set(status) >= {"status", "total_rows", "created", "duplicates", "errors"}
    assert status["status"] == "done"
    assert (status["total_rows"], status["created"], status["duplicates"]) == (6, 3, 0)
    assert status["errors"][0] == {"row": 3, "message": status["errors"][0]["message"]}


def test_the_import_api_refuses_people_who_cannot_manage_programs(ambassador_client, source):
    upload = SimpleUploadedFile("r.csv", b"id,nps\n1,9\n")
    assert (
        ambassador_client.post(f"/api/v1/sources/{source.slug}/imports/", {"file": upload}).status_code == 403
    )


def test_import_status_is_404_outside_the_users_departments(ambassador_b, source):
    from django.test import Client

    job = run(source, GOOD_AND_BAD)
    client = Client()
    client.force_login(ambassador_b)
    assert client.get(f"/api/v1/imports/{job.id}/").status_code == 404


def test_the_import_api_refuses_a_non_csv_source(leader_client, dept_a):
    generic = SourceFactory(slug="gen", kind="generic", program__department=dept_a)
    upload = SimpleUploadedFile("r.csv", b"id,nps\n1,9\n")
    reply = leader_client.post(f"/api/v1/sources/{generic.slug}/imports/", {"file": upload})
    assert reply.status_code == 400
    assert "source" in reply.json()


def test_the_command_prints_a_summary_json_and_progress_on_stderr(source, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(GOOD_AND_BAD)
    out, err = io.StringIO(), io.StringIO()
    call_command("import_responses", source.slug, str(path), stdout=out, stderr=err)
    summary = json.loads(out.getvalue())
    assert (summary["status"], summary["created"], summary["total_rows"]) == ("done", 3, 6)
    assert [e["row"] for e in summary["errors"]] == [3, 4, 6]
    assert "6/6 rows" in err.getvalue()


def test_the_portable_insert_path_counts_the_same(source, monkeypatch):
    """The embedded SQLite default uses the ORM path; exercise it on the same data."""
    monkeypatch.setattr(imports, "_batch_writer", lambda **kw: None)
    monkeypatch.setattr(
        imports,
        "_insert_pg",
        lambda items, **kw: imports._insert_orm(items, keys={i.external_id for i in items}, **kw),
    )
    job = run(source, GOOD_AND_BAD)
    assert (job.created, job.duplicates, len(job.errors)) == (3, 0, 3)
    again = run(source, GOOD_AND_BAD)
    assert (again.created, again.duplicates) == (0, 3)


# --- the PostgreSQL batch path: constant statements per batch, same results -------------------


def _rows_csv(count: int, *, start: int = 0, domain: str = "example.org") -> str:
    """Rows with repeating customers (3 e-mails; a customer id on odd rows, 2 of them)."""
    lines = ["id,email,customer,nps,comment,department"]
    for i in range(start, start + count):
        customer = f"{domain}-c{i % 4}" if i % 2 else ""
        lines.append(f"r{i},p{i % 3}@{domain},{customer},{i % 11},Words {i},Support")
    return "\n".join(lines) + "\n"


@pytest.fixture
def wide_source(dept_a):
    return SourceFactory(
        slug="csv-wide",
        kind="csv",
        program__department=dept_a,
        field_map={
            "external_id": "id",
            "email": "email",
            "customer_id": "customer",
            "nps": "nps",
            "comment": "comment",
            "department": "department",
        },
    )


def _statements(source, content: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = import_job_create(source=source, fileobj=io.BytesIO(content.encode()), name="f.csv", start=False)
    with CaptureQueriesContext(connection) as captured:
        done = import_job_run(job_id=job.id)
    assert done.status == "done", done.errors
    return len(captured)


# SAVEPOINT (the batch's transaction, nested in the test's), SELECT source FOR UPDATE, TRUNCATE
# the temp table, COPY into it, UPDATE known customers (later data wins, audited: issue 23),
# INSERT customers, INSERT responses + their outbox rows, UPDATE the job's progress, RELEASE
# SAVEPOINT.
STATEMENTS_PER_BATCH = 9


def test_statements_per_batch_do_not_depend_on_the_rows_in_it(wide_source, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 10)
    one = _statements(wide_source, _rows_csv(10))
    four = _statements(wide_source, _rows_csv(40, start=100))
    assert four - one == 3 * STATEMENTS_PER_BATCH
    monkeypatch.setattr(imports, "BATCH_SIZE", 40)
    assert _statements(wide_source, _rows_csv(40, start=200)) == one  # 40 rows, one batch


def test_bad_rows_among_good_ones_in_several_batches_keep_their_row_numbers(source, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    job = run(source, GOOD_AND_BAD)
    assert (job.total_rows, job.created, job.duplicates) == (6, 3, 0)
    assert [e["row"] for e in job.errors] == [3, 4, 6]
    assert set(Response.objects.values_list("external_id", flat=True)) == {"a1", "a4", "a6"}
    assert Response.objects.get(external_id="a4").comment == "Late,\nvery late"


def test_identical_rows_in_different_batches_are_two_responses_and_reimport_adds_nothing(dept_a, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    source = SourceFactory(slug="noid-b", kind="csv", program__department=dept_a)
    content = "nps,comment\n9,Same words\n4,Other\n9,Same words\n9,Same words\n"
    first = run(source, content)
    assert (first.created, first.duplicates) == (4, 0)
    keys = [
        k.rsplit(":", 1) for k in Response.objects.filter(source=source).values_list("external_id", flat=True)
    ]
    assert sorted(n for digest, n in keys if sum(d == digest for d, _ in keys) == 3) == ["1", "2", "3"]
    again = run(source, content)
    assert (again.created, again.duplicates) == (0, 4)
    assert Response.objects.filter(source=source).count() == 4
    assert OutboxEvent.objects.filter(kind="response_process").count() == 4


def _customer_of_each_row(source, domain: str) -> dict[str, tuple[str, str, str]]:
    """external_id -> (customer id, e-mail, name) with the domain taken out, to compare runs."""
    return {
        r.external_id: (
            r.customer.external_id.replace(domain, "D"),
            r.customer.email.replace(domain, "D"),
            r.customer.name,
        )
        for r in Response.objects.filter(source=source).select_related("customer")
    }


def test_customers_are_deduplicated_within_and_across_batches_as_the_orm_path_does(
    wide_source, dept_a, monkeypatch
):
    """Same rows through the set-based path and the portable ORM path (other e-mail domain,
    so they do not share customers): the same customers, linked to the same rows."""
    monkeypatch.setattr(imports, "BATCH_SIZE", 5)
    Customer.objects.create(email="p0@pg.test", name="Existing")
    Customer.objects.create(email="p0@orm.test", name="Existing")
    job = run(wide_source, _rows_csv(24, domain="pg.test"))
    assert (job.created, job.errors) == (24, [])
    pg_customers = Customer.objects.filter(email__endswith="pg.test") | Customer.objects.filter(
        external_id__startswith="pg.test"
    )
    assert sorted(pg_customers.values_list("email", flat=True)) == ["p0@pg.test", "p1@pg.test", "p2@pg.test"]
    assert Response.objects.filter(source=wide_source, customer__name="Existing").count() > 1

    orm_source = SourceFactory(
        slug="csv-wide-orm", kind="csv", program__department=dept_a, field_map=wide_source.field_map
    )
    monkeypatch.setattr(imports, "_batch_writer", lambda **kw: None)
    run(orm_source, _rows_csv(24, domain="orm.test"))
    assert _customer_of_each_row(wide_source, "pg.test") == _customer_of_each_row(orm_source, "orm.test")
    total = Customer.objects.count()
    monkeypatch.undo()
    monkeypatch.setattr(imports, "BATCH_SIZE", 7)
    again = run(wide_source, _rows_csv(24, domain="pg.test"))
    assert (again.created, again.duplicates) == (0, 24)
    assert Customer.objects.count() == total


def test_a_duplicate_id_in_one_batch_counts_once_and_keeps_the_first(source):
    job = run(source, "id,nps,comment\nd1,9,first\nd2,5,x\nd1,3,second\n")
    assert (job.created, job.duplicates) == (2, 1)
    assert Response.objects.get(external_id="d1").comment == "first"


def test_every_created_response_gets_its_processing_event_and_is_processed(
    wide_source, ambassador, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(imports, "BATCH_SIZE", 4)
    Response.objects.create(source=wide_source, program=wide_source.program, external_id="r3", nps=1)
    with django_capture_on_commit_callbacks(execute=True):
        job = run(wide_source, _rows_csv(10))
    assert (job.created, job.duplicates) == (9, 1)
    created = set(Response.objects.exclude(external_id="r3").values_list("id", flat=True))
    events = OutboxEvent.objects.filter(kind="response_process")
    assert sorted(events.values_list("object_id", flat=True)) == sorted(created)
    assert not events.filter(processed_at=None).exists()  # the pipeline ran on each (eager)
    assert not Response.objects.filter(id__in=created, status="received").exists()


def test_with_a_broker_each_batch_hands_its_events_on_in_one_message(
    wide_source, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from feedback import tasks

    sent: list[list[int]] = []
    monkeypatch.setattr(imports, "BATCH_SIZE", 4)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(
        tasks.import_events_publish_task, "apply_async", lambda args, **kw: sent.append(args[0])
    )
    with django_capture_on_commit_callbacks(execute=True):
        run(wide_source, _rows_csv(10))
    assert [len(ids) for ids in sent] == [4, 4, 2]
    events = OutboxEvent.objects.filter(kind="response_process")
    assert sorted(i for ids in sent for i in ids) == sorted(events.values_list("id", flat=True))

    published: list[list[int]] = []
    monkeypatch.setattr(
        outbox,
        "_send",
        lambda event, producer=None, event_ids=None: published.append(event_ids or [event.id]),
    )
    events.filter(id=sent[0][0]).update(processed_at=timezone_now())
    assert imports.import_events_publish(event_ids=sent[0]) == 3  # a processed one is skipped
    assert published == [sent[0][1:]]  # one wake-up for the three (a worker drains them as one batch)


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_the_read_ahead_raises_the_producers_error_and_stops_when_the_consumer_stops():
    def failing():
        yield 1
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"), imports._read_ahead(failing()) as items:
        assert next(items) == 1
        next(items)

    produced: list[int] = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    with imports._read_ahead(endless(), depth=2) as items:
        assert next(items) == 0
    assert len(produced) <= 5  # bounded: it stopped a few items ahead, not at the end


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.org",
        "a.b+c_d-e@sub.example.co",
        "x@localhost",
        "a..b@example.org",
        "a@-bad.org",
        "a@bad-.org",
        "a@x.o",
        "a@x.123",
        "a@@x.org",
        "a b@x.org",
        '"quoted"@x.org',
        "a@[127.0.0.1]",
        "a@xn--80ak6aa92e.com",
        "a@" + "l" * 64 + ".org",
        "a@" + "l" * 63 + ".org",
        "u" * 320 + "@x.org",
    ],
)
def test_the_plain_email_shortcut_agrees_with_djangos_validator(email):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
        expected = True
    except ValidationError:
        expected = False
    assert imports._PgBatches._email_ok(email) is expected
    if imports._PLAIN_EMAIL.match(email) and len(email) <= 320:
        assert expected  # the shortcut never accepts what Django refuses


def test_row_messages_are_the_same_on_both_insert_paths(source, dept_a, monkeypatch):
    content = (
        "id,email,nps,comment\n"
        "m1,,11,\n"  # refused score and no comment: only the score message
        ",ann@example.org,9,x\n"  # empty id: keyed by its content, not an error
        "m3,bad@,,\n"  # bad e-mail and neither score nor comment
        f"{'x' * 256},,9,\n"  # id too long
    )
    pg = run(source, content)
    orm_source = SourceFactory(
        slug="csv-orm", kind="csv", program__department=dept_a, field_map=source.field_map
    )
    monkeypatch.setattr(imports, "_batch_writer", lambda **kw: None)
    orm = run(orm_source, content)
    assert pg.errors == orm.errors
    assert [e["row"] for e in pg.errors] == [2, 4, 5]
    assert "A score or a comment" not in pg.errors[0]["message"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_of_the_same_file_add_each_row_once(monkeypatch, tmp_path):
    import threading

    from django.db import connection

    from tests.factories import DepartmentFactory

    monkeypatch.setattr(imports, "BATCH_SIZE", 7)
    monkeypatch.setattr(imports, "_events_publish", lambda **kw: None)
    dept = DepartmentFactory(name="Support", slug="support")
    source = SourceFactory(
        slug="csv-race", kind="csv", program__department=dept, field_map={"external_id": "id", "nps": "nps"}
    )
    content = (
        "id,email,nps\n" + "".join(f"x{i},p{i % 5}@example.org,{i % 11}\n" for i in range(60))
    ).encode()
    jobs = [
        import_job_create(source=source, fileobj=io.BytesIO(content), name="same.csv", start=False)
        for _ in range(2)
    ]
    gate = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(job_id: int) -> None:
        try:
            gate.wait()
            import_job_run(job_id=job_id)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(job.id,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    done = [ImportJob.objects.get(id=job.id) for job in jobs]
    assert [j.status for j in done] == ["done", "done"]
    assert sum(j.created for j in done) == 60
    assert sum(j.duplicates for j in done) == 60
    assert Response.objects.filter(source=source).count() == 60
    assert OutboxEvent.objects.filter(kind="response_process").count() == 60
    assert Customer.objects.filter(email__endswith="@example.org").count() == 5
