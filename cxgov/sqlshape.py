"""ORM queries compiled to SQL once per *shape*, then re-run with new ids and times.

A page like the triage inbox builds the same few querysets on every request; only the user's
department ids, the user id, "now" and the chosen filter ids change. Building and compiling
them cost ~7 ms of CPU a page (``Q`` resolution, join promotion, the compiler), several times
what PostgreSQL needs to run them. ``SqlShapes`` keeps the compiled SQL of each shape and
substitutes the values into its parameter list.

What may change between two runs of one shape (the *values*) is limited to ints, aware
datetimes, ``None`` and lists of ints; anything else that shapes the SQL (a search string, a
tab, a sort, a flag) belongs in the caller's key. Whether a value is ``None`` and how long a
list is are part of the shape too, found from the values themselves. To know which
parameters are which, a new shape is compiled twice with two different sets of stand-in
values: a parameter that differs between the two must be a stand-in, found where it was put,
and the SQL must not differ at all. A shape that fails this is never run with a guess: it is
compiled with the real values on every call instead (``strict=True`` raises ``ValueError``,
for tests). The queryset is still written with the ORM, so it stays readable and
checked by the same tests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

# Stand-ins no real id or time takes: ints far below any serial id, datetimes in year 1.
_INT_BASE = (-(2**62) + 7919, -(2**61) + 7919)
_TIME_BASE = (datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC))

Build = Callable[..., tuple[str, Sequence[Any]]]


def _shape_of(value: Any) -> Hashable:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a flag shapes the SQL: put it in the key")
    if isinstance(value, int):
        return int
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes are not templated")
        return datetime
    if isinstance(value, list | tuple):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise TypeError("only lists of ints are templated")
        return (list, len(value))
    raise TypeError(f"{type(value).__name__} values shape the SQL: put them in the key")


class _StandIns:
    """One set of stand-in values (``which`` 0 or 1) and where each parameter came from."""

    def __init__(self, values: dict[str, Any], which: int) -> None:
        self.values: dict[str, Any] = {}
        self.origin: dict[Any, tuple[str, int | None]] = {}
        n = 0
        for name, value in values.items():
            if value is None:
                self.values[name] = None
            elif isinstance(value, datetime):
                self.values[name] = self._new(_TIME_BASE[which] + timedelta(microseconds=n + 1), name, None)
            elif isinstance(value, int):
                self.values[name] = self._new(_INT_BASE[which] + n, name, None)
            else:
                self.values[name] = [self._new(_INT_BASE[which] + n + i, name, i) for i in range(len(value))]
                n += len(value)
            n += 1

    def _new(self, stand_in: Any, name: str, index: int | None) -> Any:
        self.origin[stand_in] = (name, index)
        return stand_in


class _Shape:
    def __init__(self, build: Build, values: dict[str, Any]) -> None:
        first, second = _StandIns(values, 0), _StandIns(values, 1)
        sql, params = build(**first.values)
        sql2, params2 = build(**second.values)
        if sql != sql2 or len(params) != len(params2):
            raise ValueError("the SQL depends on a templated value itself, not only its parameters")
        self.sql = sql
        self.params = list(params)
        self.slots: list[tuple[int, str, int | None]] = []
        for i, (a, b) in enumerate(zip(params, params2, strict=True)):
            if a == b and type(a) is type(b):
                continue  # a constant of the query
            where = first.origin.get(a) if isinstance(a, int | datetime) else None
            if where is None or second.origin.get(b) != where:
                raise ValueError(f"parameter {i} changes with the values but is no stand-in: {a!r}")
            self.slots.append((i, *where))

    def bind(self, values: dict[str, Any]) -> tuple[str, list[Any]]:
        params = self.params.copy()
        for i, name, index in self.slots:
            value = values[name]
            params[i] = value if index is None else value[index]
        return self.sql, params


class SqlShapes:
    """``sql(key, build, values)``: ``build(**values)`` compiled once per key and shape.

    ``build`` returns ``(sql, params)`` (e.g. ``queryset.query.sql_with_params()``) and must
    depend on nothing but its arguments and what ``key`` names. Shapes are shared by every
    thread of the process (they hold strings and lists only); the oldest goes past
    ``maxsize``.
    """

    def __init__(self, *, maxsize: int = 256, strict: bool = False) -> None:
        self.maxsize = maxsize
        self.strict = strict
        self._shapes: OrderedDict[Hashable, _Shape | None] = OrderedDict()  # None: not templatable
        self._lock = threading.Lock()

    def sql(self, key: Hashable, build: Build, values: dict[str, Any]) -> tuple[str, list[Any]]:
        full_key = (key, tuple((name, _shape_of(value)) for name, value in values.items()))
        try:
            shape = self._shapes[full_key]
        except KeyError:
            try:
                shape = _Shape(build, values)
            except (ValueError, OverflowError):  # OverflowError: arithmetic on a year-1 stand-in
                if self.strict:
                    raise
                shape = None
            with self._lock:
                self._shapes[full_key] = shape
                while len(self._shapes) > self.maxsize:
                    self._shapes.popitem(last=False)
        if shape is None:
            sql, params = build(**values)
            return sql, list(params)
        return shape.bind(values)

    def clear(self) -> None:
        with self._lock:
            self._shapes.clear()

    def __len__(self) -> int:
        return len(self._shapes)
