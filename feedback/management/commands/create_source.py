"""``manage.py create_source --kind KIND --name NAME [--program SLUG] [--secret S] [--map ROLE=KEY ...]``

Prints ONE JSON object on stdout: ``{"slug", "intake_url", "token", "secret"}`` (the token is
shown once: only its hash is stored). Works on an empty database right after migrate: without
``--program`` the source joins a default program. The intake URL's base comes from
``CXGOV_BASE_URL`` (default ``http://127.0.0.1:8000``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.intake import source_create
from feedback.models import Program
from feedback.sources import KINDS
from feedback.sources._common import ROLES


class Command(BaseCommand):
    help = "Create a feedback source and print its intake URL, token and secret as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, help=f"One of: {', '.join(KINDS)}")
        parser.add_argument("--name", required=True)
        parser.add_argument("--program", default="", help="Program slug (default program if absent)")
        parser.add_argument("--secret", default="", help="Vendor signing secret / shared key")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="ROLE=KEY",
            help=f"Field map entry; ROLE is one of: {', '.join(ROLES)}",
        )
        parser.add_argument("--timezone", default="UTC", help="For timestamps without a zone")
        parser.add_argument("--scale", action="append", default=[], metavar="METRIC=LOW-HIGH")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        if kind not in KINDS:
            raise CommandError(f"Unknown --kind {kind!r}; use one of: {', '.join(KINDS)}")
        field_map: dict[str, str] = {}
        for pair in options["map"]:
            role, sep, key = pair.partition("=")
            role, key = role.strip(), key.strip()
            if not sep or not key:
                raise CommandError(f"--map {pair!r}: use ROLE=KEY")
            if role not in ROLES:
                raise CommandError(f"--map {pair!r}: unknown ROLE {role!r}; use one of: {', '.join(ROLES)}")
            field_map[role] = key
        scales: dict[str, list[int]] = {}
        for pair in options["scale"]:
            metric, _, bounds = pair.partition("=")
            low, _, high = bounds.partition("-")
            try:
                scales[metric.strip()] = [int(low), int(high)]
            except ValueError:
                raise CommandError(f"--scale {pair!r}: use METRIC=LOW-HIGH, e.g. csat=1-7") from None
        program = None
        if options["program"]:
            program = Program.objects.filter(slug=options["program"]).first()
            if program is None:
                raise CommandError(f"No program with slug {options['program']!r}")
        try:
            created = source_create(
                kind=kind,
                name=options["name"],
                program=program,
                secret=options["secret"],
                field_map=field_map,
                scales=scales,
                tz=options["timezone"],
            )
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"error": exc.messages}
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items())) from None
        base_url = os.environ.get("CXGOV_BASE_URL", "http://127.0.0.1:8000")
        self.stdout.write(json.dumps(created.payload(base_url=base_url)))
