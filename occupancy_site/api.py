"""What every API response has in common."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """Render every client error as {"detail": "<one line>"}.

    A field error names the field, so a device's log says what to fix.
    """
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
