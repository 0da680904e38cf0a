"""Load a realistic demo organisation. Running it twice changes nothing."""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

# Each app may add its own demo data in ``<app>/demo.py`` with ``seed() -> dict``; order matters.
DEMO_MODULES = ["charter.demo", "missions.demo", "feedback.demo", "reports.demo"]


class Command(BaseCommand):
    help = "Create the demo organisation (idempotent) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        for dotted in DEMO_MODULES:
            try:
                module = importlib.import_module(dotted)
            except ModuleNotFoundError as exc:
                if exc.name != dotted:
                    raise
                continue
            counts = module.seed()
            summary = ", ".join(f"{k}={v}" for k, v in counts.items())
            self.stdout.write(f"{dotted}: {summary}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"Demo logins (password: {settings.DEMO_PASSWORD}): leader, ambassador, owner, finance, executive"
        )
