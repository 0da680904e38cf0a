"""``manage.py import_responses <source-slug> <file.csv>``

Imports a CSV into a source with a progress bar on stderr and prints a summary JSON object on
stdout (``{"id", "status", "total_rows", "created", "duplicates", "errors": [...]}``). Runs the
same service as the browser and API imports (streamed, batched, idempotent), inline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.imports import import_job_create, import_job_run, import_summary
from feedback.models import ImportJob, Source
from feedback.sources import PayloadError


class Command(BaseCommand):
    help = "Import a CSV file of responses into a source (progress on stderr, summary JSON on stdout)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="Source slug (kind csv or qualtrics_csv)")
        parser.add_argument("file", help="Path to the CSV file")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Source.objects.select_related("program").filter(slug=options["source"]).first()
        if source is None:
            raise CommandError(f"No source with slug {options['source']!r}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            with path.open("rb") as fileobj:
                job = import_job_create(source=source, fileobj=fileobj, name=path.name, start=False)
        except PayloadError as exc:
            raise CommandError("; ".join(m for v in exc.errors.values() for m in v)) from None
        show = not options["no_progress"]
        result = import_job_run(job_id=job.id, progress=self._bar if show else None)
        if show:
            self.stderr.write("")
        job = result or ImportJob.objects.get(id=job.id)
        self.stdout.write(json.dumps(import_summary(job)))
        if job.status == ImportJob.Status.FAILED:
            sys.exit(1)

    def _bar(self, job: ImportJob) -> None:
        total = max(job.total_rows, job.processed_rows, 1)
        done = job.processed_rows
        width = 30
        filled = int(width * done / total)
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows "
            f"· {job.created} created · {job.duplicates} duplicates · {len(job.errors)} errors"
        )
        self.stderr.write(line, ending="")
        self.stderr.flush()
