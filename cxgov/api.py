"""API plumbing shared by every app: error shape and the 4xx statuses we document."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn model validation errors raised by services into 400s with field-level messages."""
    from charter.documents import TransitionError

    if isinstance(exc, TransitionError):
        # not possible from the current state (e.g. editing a charter that is in review)
        return Response(
            exc.message_dict if hasattr(exc, "error_dict") else {"state": exc.messages}, status=409
        )
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        wait = getattr(exc, "wait", None)
        if wait:
            response["Retry-After"] = str(int(wait) + 1)
    return response
