"""The intake demo data: programs with purposes, sources, idempotent."""

from __future__ import annotations

from charter import demo as charter_demo
from feedback import demo_intake
from feedback.models import Program, Source


def test_demo_intake_seeds_programs_and_sources_idempotently():
    charter_demo.seed()
    first = demo_intake.seed()
    second = demo_intake.seed()
    assert first == second
    assert first["programs"] >= 5
    assert Program.objects.get(slug="post-support-csat").has_purpose
    assert not Program.objects.get(slug="legacy-checkout-survey").has_purpose
    assert Source.objects.filter(kind="csv").count() >= 2
    assert all(s.token_hash for s in Source.objects.all())
