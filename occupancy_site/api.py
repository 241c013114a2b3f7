"""What every API response has in common."""

import logging
from typing import Any

from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import OperationalError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is busy; try again in a few seconds."
    # Seconds, sent as Retry-After.
    wait = 10


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """Render every client error as {"detail": "<one line>"}.

    A field error names the field, so a device's log says what to fix. A
    locked or unreachable database is a 503 the client may retry.
    """
    if isinstance(error, OperationalError):
        request = context.get("request")
        logger.error(
            "The database failed during %s %s: %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            error,
        )
        error = DatabaseUnavailable()
    error = _as_api_error(error)
    response = drf_exception_handler(error, context)
    if response is None or not isinstance(error, exceptions.ValidationError):
        return response
    response.data = {"detail": _first_message(error.detail)}
    return response


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the limit."


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string and is taken as sent: DRF's
    own field would take the number 0 as "0", and trim the spaces that make
    a string too long before measuring it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _as_api_error(error: Exception) -> Exception:
    """Django's refusals of an oversized or overfull body, which it would
    answer with an HTML page, as API errors."""
    if isinstance(error, RequestDataTooBig):
        return BodyTooLarge()
    if isinstance(error, TooManyFieldsSent | TooManyFilesSent):
        return exceptions.ParseError("The request has too many fields or files.")
    return error


def _first_message(detail: Any, field: str = "") -> str:
    if isinstance(detail, dict):
        for name, value in detail.items():
            prefix = "" if name == "non_field_errors" else str(name)
            return _first_message(value, prefix)
        return "Invalid request."
    if isinstance(detail, list):
        return _first_message(detail[0], field) if detail else "Invalid request."
    return f"{field}: {detail}" if field else str(detail)
