"""``source_for_intake`` reads the source's row on every delivery and reuses the objects built
from it while that row is the same (issue 9, figure 1): never stale, never changed by a delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from charter.models import Department
from feedback import intake
from feedback.intake import source_for_intake, source_rotate
from feedback.models import Program, Response, Source
from tests.factories import DepartmentFactory, SourceFactory, TouchpointFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def source() -> Source:
    return SourceFactory(slug="shared", program__touchpoint=TouchpointFactory(slug="call"))


def _state(source: Source) -> list[Any]:
    """Every column value and cached relation of the four objects of a source."""
    program = source.program
    objects = [source, program, program.department, program.touchpoint]
    return [
        ({f.attname: getattr(o, f.attname) for f in o._meta.concrete_fields}, set(o._state.fields_cache))
        for o in objects
    ]


def test_the_same_row_gives_the_same_objects(source: Source) -> None:
    first = source_for_intake(slug="shared")
    assert first is not None and first.pk == source.pk
    assert source_for_intake(slug="shared") is first
    assert first.program.touchpoint.slug == "call"


@pytest.mark.parametrize(
    "change",
    [
        lambda s: Source.objects.filter(pk=s.pk).update(name="Renamed"),
        lambda s: source_rotate(source=s),
        lambda s: Program.objects.filter(pk=s.program_id).update(
            department=DepartmentFactory(slug="billing")
        ),
        lambda s: Department.objects.filter(pk=s.program.department_id).update(name="Care"),
        lambda s: (
            type(s.program.touchpoint).objects.filter(pk=s.program.touchpoint_id).update(name="Phone call")
        ),
    ],
    ids=["source", "token", "program", "department", "touchpoint"],
)
def test_any_change_to_the_row_gives_new_objects_with_it(source: Source, change: Any) -> None:
    before = source_for_intake(slug="shared")
    change(source)
    after = source_for_intake(slug="shared")
    assert after is not before
    fresh = Source.objects.select_related("program__department", "program__touchpoint").get(pk=source.pk)
    assert _state(after) == _state(fresh)


def test_a_deactivated_source_is_not_found_although_its_objects_were_kept(source: Source) -> None:
    assert source_for_intake(slug="shared") is not None
    Source.objects.filter(pk=source.pk).update(is_active=False)
    assert source_for_intake(slug="shared") is None


def test_objects_with_a_relation_loaded_on_them_are_not_handed_out_again(source: Source) -> None:
    Department.objects.filter(pk=source.program.department_id).update(leader=UserFactory(username="lead"))
    first = source_for_intake(slug="shared")
    assert first.program.department.leader.username == "lead"  # a lazy load, cached on the object
    second = source_for_intake(slug="shared")
    assert second is not first
    assert "leader" not in second.program.department._state.fields_cache


def test_a_delivery_leaves_the_shared_objects_as_it_found_them(source: Source) -> None:
    shared = source_for_intake(slug="shared")
    before = _state(shared)
    body = {
        "external_id": "r-1",
        "customer": {"external_id": "c-1", "email": "c1@example.com"},
        "scores": {"nps": 3},
        "comment": "Slow.",
        "touchpoint": "call",
    }
    reply = Client().post(
        "/api/v1/intake/shared/",
        json.dumps(body),
        content_type="application/json",
        headers={"authorization": f"Bearer {source.token}"},
    )
    assert reply.status_code == 201, reply.content
    again = Client().post(
        "/api/v1/intake/shared/",
        json.dumps({**body, "scores": {"nps": 11}}),
        content_type="application/json",
        headers={"authorization": f"Bearer {source.token}"},
    )
    assert again.status_code == 400  # a refused delivery goes through the same objects
    assert Response.objects.get(external_id="r-1").source_id == source.pk
    assert source_for_intake(slug="shared") is shared
    assert _state(shared) == before


def test_the_kept_objects_are_bounded(source: Source, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "_SOURCE_OBJECTS", {f"other-{i}": ((i,), source) for i in range(3)})
    monkeypatch.setattr(intake, "_SOURCE_OBJECTS_MAX", 3)
    assert source_for_intake(slug="shared") is not None
    assert list(intake._SOURCE_OBJECTS) == ["shared"]
