"""``manage.py customer_privacy export|erase CUSTOMER --by USERNAME [--reason TEXT] [--yes]``.

``export`` prints the customer's data as JSON (stdout: hand it to the customer); ``erase``
anonymises them after a confirmation (``--yes`` skips it). Both record a ``PrivacyRequest``.
CUSTOMER is the row id, the e-mail or the vendor customer id.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.privacy import customer_data_export, customer_erase, customer_find


class Command(BaseCommand):
    help = "Export or erase everything we hold on one customer (privacy requests), with an audit record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("customer", help="Row id, e-mail or vendor customer id")
        parser.add_argument("--by", required=True, help="Username of the person handling the request")
        parser.add_argument("--reason", default="", help="E.g. the ticket number of the request")
        parser.add_argument("--yes", action="store_true", help="Erase without asking")

    def handle(self, *args: Any, **options: Any) -> None:
        by = get_user_model().objects.filter(username=options["by"]).first()
        if by is None:
            raise CommandError(f"No user {options['by']!r}.")
        try:
            customer = customer_find(ref=options["customer"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if options["action"] == "export":
            data = customer_data_export(customer=customer, by=by, reason=options["reason"])
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
            return
        if not options["yes"]:
            answer = input(f"Erase customer {customer.pk} ({customer})? This cannot be undone. [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing erased.")
        record = customer_erase(customer=customer, by=by, reason=options["reason"])
        self.stdout.write(json.dumps({"erased": record.customer_ref, "request": record.pk, **record.summary}))
