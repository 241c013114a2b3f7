"""What every API response has in common."""

import logging
from typing import Any

from django.db import OperationalError
from rest_framework import exceptions, status
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
    response = drf_exception_handler(error, context)
    if response is None or not isinstance(error, exceptions.ValidationError):
        return response
    response.data = {"detail": _first_message(error.detail)}
    return response


def _first_message(detail: Any, field: str = "") -> str:
    if isinstance(detail, dict):
        for name, value in detail.items():
            prefix = "" if name == "non_field_errors" else str(name)
            return _first_message(value, prefix)
        return "Invalid request."
    if isinstance(detail, list):
        return _first_message(detail[0], field) if detail else "Invalid request."
    return f"{field}: {detail}" if field else str(detail)
