"""The embedded default (SQLite, tasks inline, demo data), what a first look with ``make run``
does: the ROI report and the triage pages. SQLite has no roll-up triggers (ADR 0010), no LIMIT
inside a UNION, and gives raw cursors naive times, so those take other paths there; the rest of
the suite runs on PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from reports import selectors
from tests.factories import SourceFactory, ThemeFactory
from tests.reports.helpers import scored

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, django
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", verbosity=0)
from reports import services
from reports.models import Report
end = timezone.now().date()
report, _ = services.report_request(user=None, period_start=end - timedelta(days=364), period_end=end)
report = Report.objects.get(pk=report.pk)
pdf = report.file.read() if report.file else b""
from django.test import Client
from charter.models import User
from missions.models import SuccessMeasure
# a question finance returned: the leader's home lists it (a UNION, which SQLite words differently)
SuccessMeasure.objects.filter(pk=SuccessMeasure.objects.order_by("pk")[0].pk).update(
    returned_at=timezone.now(), return_question="Where does the baseline come from?",
    returned_by=User.objects.get(username="finance"))
pages = {}
for username in ("leader", "ambassador", "owner", "finance", "executive"):
    client = Client()
    client.force_login(User.objects.get(username=username))
    for path in ("/", "/dashboard/", "/triage/", "/triage/?tab=systemic", "/my/", "/inbox/", "/success/",
                 "/charter/", "/finance/validation/"):
        reply = client.get(path, secure=True, follow=True)
        pages[f"{username} {path}"] = reply.status_code
print(json.dumps({"vendor": connection.vendor, "status": report.status, "error": report.error[:300],
                  "pdf": pdf[:5].decode("latin-1"),
                  "server_errors": sorted(k for k, v in pages.items() if v >= 500),
                  "home_ok": all(pages[f"{u} /"] == 200 for u in ("leader", "finance", "executive"))}))
"""


def test_the_demo_report_and_inbox_work_on_the_embedded_default(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "EMAIL"))}
    env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "cxgov.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cxgov.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        # A database URL alone means production mode; these keep the embedded default's.
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "vendor": "sqlite",
        "status": "done",
        "error": "",
        "pdf": "%PDF-",
        "server_errors": [],
        "home_ok": True,
    }


@pytest.mark.django_db
def test_quotes_without_limit_in_a_union_are_the_same_quotes(monkeypatch):
    """The per-pair queries SQLite gets return what the one UNION ALL returns."""
    source = SourceFactory()
    late, rude = ThemeFactory(slug="late"), ThemeFactory(slug="rude")
    for i in range(8):
        r = scored(source=source, submitted_at=selectors.Period.last_days(30).start_dt.replace(hour=i), nps=i)
        r.themes.add(late if i % 2 else rude)
    period = selectors.Period.last_days(30)
    dept = source.program.department_id
    wanted = [(late.pk, None), (rude.pk, None), (late.pk, dept), (rude.pk, dept)]
    together = selectors.theme_quotes(department_ids=None, period=period, wanted=wanted, per=3)
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    apart = selectors.theme_quotes(department_ids=None, period=period, wanted=wanted, per=3)
    assert {k: [r.pk for r in v] for k, v in apart.items()} == {
        k: [r.pk for r in v] for k, v in together.items()
    }
    assert all(len(v) == 3 for v in together.values())
