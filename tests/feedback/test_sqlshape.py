"""``SqlShapes``: SQL compiled once per shape gives what compiling every time gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cxgov.sqlshape import SqlShapes
from feedback.models import ActionItem
from tests.factories import ActionItemFactory


def _build(*, dept, owner, since):
    qs = ActionItem.objects.filter(department_id__in=dept, created_at__gte=since)
    if owner is not None:
        qs = qs.filter(owner_id=owner)
    return qs.order_by("id").values_list("id").query.sql_with_params()


def _run(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_one_shape_serves_other_ids_and_times(dept_a, dept_b, ambassador, owner):
    now = timezone.now()
    a = ActionItemFactory(department=dept_a, owner=owner)
    b = ActionItemFactory(department=dept_b, owner=ambassador)
    shapes = SqlShapes(strict=True)
    cases = [
        {"dept": [dept_a.pk], "owner": owner.pk, "since": now - timedelta(days=1)},
        {"dept": [dept_b.pk], "owner": ambassador.pk, "since": now - timedelta(days=1)},
        {"dept": [dept_b.pk], "owner": owner.pk, "since": now - timedelta(days=1)},
        {"dept": [dept_a.pk], "owner": owner.pk, "since": now + timedelta(days=1)},
    ]
    got = [_run(*shapes.sql("k", _build, values)) for values in cases]
    assert got == [[a.pk], [b.pk], [], []]
    assert got == [_run(*_build(**values)) for values in cases]
    assert len(shapes) == 1  # all four ran the SQL compiled for the first


def test_none_and_list_lengths_are_shapes_of_their_own(dept_a, dept_b, ambassador, owner):
    now = timezone.now()
    a = ActionItemFactory(department=dept_a, owner=owner)
    b = ActionItemFactory(department=dept_b, owner=ambassador)
    shapes = SqlShapes(strict=True)
    both = _run(
        *shapes.sql("k", _build, {"dept": [dept_a.pk, dept_b.pk], "owner": None, "since": now - timedelta(1)})
    )
    one = _run(*shapes.sql("k", _build, {"dept": [dept_b.pk], "owner": None, "since": now - timedelta(1)}))
    assert (both, one, len(shapes)) == ([a.pk, b.pk], [b.pk], 2)


def test_a_value_that_changes_the_sql_is_refused_not_guessed(dept_a, owner):
    ActionItemFactory(department=dept_a, owner=owner)

    def build(*, limit):  # the limit is written into the SQL: no parameter to put it in
        return ActionItem.objects.order_by("id").values_list("id")[:-limit].query.sql_with_params()

    def build_transformed(*, owner):  # the parameter is not the value any more
        return ActionItem.objects.filter(title=str(owner)).values_list("id").query.sql_with_params()

    for fn, values in ((build, {"limit": -1}), (build_transformed, {"owner": owner.pk})):
        with pytest.raises(ValueError):
            SqlShapes(strict=True).sql("k", fn, values)
        lenient = SqlShapes()
        assert lenient.sql("k", fn, values) == list_of(fn(**values))  # compiled with the real values
        assert lenient.sql("k", fn, values) == list_of(fn(**values))


def test_arithmetic_on_a_time_is_compiled_with_the_real_time(dept_a, owner):
    """A year-1 stand-in cannot go back a week (OverflowError): such a shape is not templated."""
    ActionItemFactory(department=dept_a, owner=owner)

    def build(*, now):
        return (
            ActionItem.objects.filter(due_at__gte=now - timedelta(days=7))
            .values_list("id")
            .query.sql_with_params()
        )

    now = timezone.now()
    lenient = SqlShapes()
    assert lenient.sql("week", build, {"now": now}) == list_of(build(now=now))
    assert lenient.sql("week", build, {"now": now}) == list_of(build(now=now))


def list_of(sql_params):
    sql, params = sql_params
    return sql, list(params)


@pytest.mark.parametrize("value", ["text", 1.5, True, [1, "a"], timezone.now().replace(tzinfo=None)])
def test_only_ids_and_aware_times_are_templated(value):
    with pytest.raises(TypeError):
        SqlShapes().sql("k", lambda **kw: ("SELECT 1", []), {"v": value})


def test_the_oldest_shape_goes_past_maxsize():
    shapes = SqlShapes(maxsize=2, strict=True)
    for key in ("a", "b", "c"):
        shapes.sql(key, lambda *, n: ("SELECT %s", [n]), {"n": 1})
    assert len(shapes) == 2
    assert shapes.sql("a", lambda *, n: ("SELECT %s + 0", [n]), {"n": 5}) == ("SELECT %s + 0", [5])
