"""Dates a person or a client may send: bounded to a sane range, refused with a field error.

``9999-12-31`` is a valid date, but a period ending then overflows as soon as a day is added to
it (``date.max + 1 day``), which was a 500. Every date parsed from a request goes through one of
these fields, so a far date is a 400 with the field named instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

EARLIEST = date(1970, 1, 1)
LATEST = date(2099, 12, 31)
MESSAGE = f"Choose a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."


def date_validators() -> list[Any]:
    return [MinValueValidator(EARLIEST, message=MESSAGE), MaxValueValidator(LATEST, message=MESSAGE)]


class BoundedDateField(forms.DateField):
    """A form date between ``EARLIEST`` and ``LATEST``."""

    default_validators = date_validators()


class BoundedDateSerializerField(serializers.DateField):
    """An API date between ``EARLIEST`` and ``LATEST`` (400 with the field otherwise)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validators", date_validators())
        super().__init__(**kwargs)


# --- whole numbers and ids -------------------------------------------------------------------

#: The largest value of a PostgreSQL ``bigint`` (every primary key here): a larger id would be a
#: database error (500), not "no such row".
MAX_ID = 2**63 - 1


def _id_field() -> forms.IntegerField:
    return forms.IntegerField(min_value=1, max_value=MAX_ID)


def int_or_none(text: Any, *, min_value: int | None = None, max_value: int | None = None) -> int | None:
    """``text`` as a whole number through Django's own parsing, else None.

    ``str.isdigit()`` says yes to ``²`` and other digits ``int()`` refuses, which was a 500;
    Django's ``IntegerField`` refuses them with a ``ValidationError`` instead."""
    try:
        return forms.IntegerField(min_value=min_value, max_value=max_value).clean(text)
    except forms.ValidationError:
        return None


class IdListField(forms.Field):
    """Several row ids from one form key (``ids=1&ids=2``): each a whole number in the id range."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "Each selected item must be a row id."}

    def to_python(self, value: Any) -> list[int]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        field = _id_field()
        try:
            return [field.clean(v) for v in values]
        except forms.ValidationError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
