"""Journey map (CX leader edits) and the CX maturity self-assessment with its trend chart."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from charter.models import JourneyStage, MaturityAssessment, MaturityStatement, Touchpoint, User
from charter.selectors import maturity_trend
from charter.services import maturity_assessment_record
from tests.factories import TouchpointFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def test_leader_adds_a_stage_and_a_touchpoint(leader_client: Client, dept_a) -> None:  # type: ignore[no-untyped-def]
    assert (
        leader_client.post(reverse("charter:stage-new"), {"name": "Onboarding", "position": 1}).status_code
        == 302
    )
    stage = JourneyStage.objects.get()
    data = {
        "stage": stage.pk,
        "name": "Welcome call",
        "slug": "welcome-call",
        "department": dept_a.pk,
        "position": 1,
    }
    assert leader_client.post(reverse("charter:touchpoint-new"), data).status_code == 302
    page = leader_client.get(reverse("charter:journey")).content.decode()
    assert "Welcome call" in page and dept_a.name in page


def test_non_leaders_cannot_edit_the_journey(ambassador_client: Client) -> None:
    assert ambassador_client.post(reverse("charter:stage-new"), {"name": "X"}).status_code == 403


def test_journey_page_query_count_does_not_grow(owner_client: Client) -> None:
    TouchpointFactory()
    few = count_queries(lambda: owner_client.get(reverse("charter:journey")))
    TouchpointFactory.create_batch(6)
    assert count_queries(lambda: owner_client.get(reverse("charter:journey"))) == few


def test_journey_api_lists_stages_with_touchpoints(leader_client: Client, dept_a) -> None:  # type: ignore[no-untyped-def]
    stage = leader_client.post(
        "/api/v1/journey/stages/", {"name": "Use"}, content_type="application/json"
    ).json()
    created = leader_client.post(
        "/api/v1/journey/touchpoints/",
        {"stage": stage["id"], "name": "App", "slug": "app", "department": dept_a.slug},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    stages = leader_client.get("/api/v1/journey/stages/").json()
    assert stages[0]["touchpoints"][0]["slug"] == "app"
    assert Touchpoint.objects.get().department == dept_a


def _statements() -> list[MaturityStatement]:
    dims = ["intentional_success", "cultural_commitment", "customer_collaboration", "experiential_innovation"]
    return [MaturityStatement.objects.create(dimension=d, text=f"{d} statement") for d in dims]


def test_assessment_gives_a_level_per_dimension(leader: User) -> None:
    statements = _statements()
    for on, score in ((dt.date(2026, 3, 1), 2), (dt.date(2026, 9, 1), 4)):
        maturity_assessment_record(
            assessment=MaturityAssessment(title=str(on), assessed_on=on),
            scores={s.pk: score for s in statements},
            by=leader,
        )
    trend = maturity_trend()
    assert [row.levels["intentional_success"] for row in trend] == [2.0, 4.0]
    assert [row.overall for row in trend] == [2.0, 4.0]


def test_every_statement_must_be_scored_1_to_5(executive: User) -> None:
    s1, *_ = _statements()
    with pytest.raises(ValidationError):
        maturity_assessment_record(
            assessment=MaturityAssessment(title="x", assessed_on=dt.date(2026, 1, 1)),
            scores={s1.pk: 6},
            by=executive,
        )


def test_only_the_steering_committee_assesses(ambassador: User) -> None:
    with pytest.raises(PermissionDenied):
        maturity_assessment_record(
            assessment=MaturityAssessment(title="x", assessed_on=dt.date(2026, 1, 1)),
            scores={},
            by=ambassador,
        )


def test_maturity_form_and_svg_trend_chart(executive_client: Client) -> None:
    statements = _statements()
    data = {"title": "Q1", "assessed_on": "2026-03-01", **{f"s{s.pk}": "3" for s in statements}}
    assert executive_client.post(reverse("charter:maturity-new"), data).status_code == 302
    page = executive_client.get(reverse("charter:maturity")).content.decode()
    prefix = 'src="data:image/svg+xml;base64,'
    svg = base64.b64decode(page.split(prefix, 1)[1].split('"', 1)[0]).decode()
    assert svg.startswith("<svg") and "Intentional success" in svg
    assert "<script" not in page.split(prefix, 1)[0].split("<main", 1)[1]


def test_maturity_form_refuses_a_missing_score(executive_client: Client) -> None:
    _statements()
    response = executive_client.post(
        reverse("charter:maturity-new"), {"title": "Q1", "assessed_on": "2026-03-01"}
    )
    assert response.status_code == 400
