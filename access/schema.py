"""How the API schema describes access and the error answers every
endpoint shares."""

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBody(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in one line.")


_MEANINGS = {
    400: "The request is malformed; the detail names the field.",
    401: "No valid credentials were sent.",
    403: "These credentials may not do this.",
    404: "There is no such thing here.",
    406: "The requested format is not offered.",
    413: "The body is larger than the limit.",
    415: "The content type is not accepted.",
    429: "Too many requests; retry after the time in Retry-After.",
    503: "A service this depends on cannot be reached.",
}


class ReaderSchema(AutoSchema):
    """A reader endpoint: an API key or a staff session, or nothing at all
    while keys are not required."""

    def get_auth(self) -> list[dict]:
        auths = super().get_auth()
        if not settings.API_KEYS_REQUIRED:
            auths.append({})
        return auths


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The named error answers, each with the {"detail": ...} body."""
    return {
        code: OpenApiResponse(response=ErrorBody, description=_MEANINGS[code])
        for code in codes
    }


def csv_errors(*codes: int) -> dict[tuple[int, str], OpenApiResponse]:
    """The same answers for an endpoint that also speaks CSV, where an
    error is a one-cell `detail` table."""
    json = {(code, "application/json"): body for code, body in errors(*codes).items()}
    csv = {
        (code, "text/csv"): OpenApiResponse(
            response=OpenApiTypes.STR, description=_MEANINGS[code]
        )
        for code in codes
    }
    return {**json, **csv}
