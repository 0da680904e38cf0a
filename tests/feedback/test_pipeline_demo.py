"""The pipeline demo: themes, rules, SLAs and responses through the real pipeline, idempotent."""

from __future__ import annotations

import pytest

from feedback import demo_pipeline
from feedback.models import ActionItem, Insight, Response, RoutingRule, SLAPolicy, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_demo(monkeypatch):
    monkeypatch.setattr(demo_pipeline, "RESPONSES", 60)
    from charter import demo as charter_demo
    from feedback import demo_intake

    charter_demo.seed()
    demo_intake.seed()


def test_the_demo_fills_the_inbox_through_the_pipeline_and_is_idempotent(small_demo):
    first = demo_pipeline.seed()
    assert Theme.objects.count() == 6
    assert RoutingRule.objects.filter(is_default=True).count() == 1
    assert SLAPolicy.objects.count() == 8
    assert first["responses_processed_now"] == 60
    assert not Response.objects.exclude(status="processed").exists()
    assert Insight.objects.count() > 10
    assert ActionItem.objects.filter(loop="inner").count() == Insight.objects.count()
    assert not Insight.objects.filter(owner__isnull=True).exists()
    again = demo_pipeline.seed()
    assert again["responses_processed_now"] == 0
    assert again["insights"] == first["insights"]
    assert again["systemic_actions"] == first["systemic_actions"]
