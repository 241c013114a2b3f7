from typing import Any

from django.conf import settings
from django.views.generic import TemplateView
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import READER_AUTHENTICATION, ReaderAccess
from access.schema import ReaderSchema, csv_errors
from analytics.history import SPACE, historical_data, zone_scope
from analytics.renderers import HistoryCSVRenderer
from analytics.serializers import HistoryQuery, HistoryRow, HistoryWindow, utc_text
from zones.models import Zone


class HistoryZone(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    camera = serializers.CharField()


class HistoryOutput(serializers.Serializer):
    scope = serializers.CharField()
    zone = HistoryZone(allow_null=True)
    by = serializers.ChoiceField(choices=["hour", "weekday_hour"])
    time_zone = serializers.CharField()
    window = HistoryWindow(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    rows = HistoryRow(many=True)


class HistoryView(APIView):
    """How busy the space, or one zone, usually is at each hour."""

    authentication_classes = READER_AUTHENTICATION
    permission_classes = [ReaderAccess]
    renderer_classes = [JSONRenderer, HistoryCSVRenderer]
    schema = ReaderSchema()

    @extend_schema(
        parameters=[
            HistoryQuery,
            OpenApiParameter(
                "format",
                enum=["json", "csv"],
                description="csv for a spreadsheet, one line per row.",
            ),
        ],
        responses={
            (200, "application/json"): HistoryOutput,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            **csv_errors(400, 401, 403, 404, 406, 429),
        },
    )
    def get(self, request: Request) -> Response:
        # A plain dict, not the QueryDict: DRF takes an empty value in a
        # QueryDict for a missing one, so ?by= would pass as the default.
        query = HistoryQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        by = query.validated_data["by"]
        zone = _zone(query.validated_data.get("zone"))

        scope = zone_scope(zone.pk) if zone else SPACE
        store = historical_data()
        run = store.run(by)
        figures = store.for_scope(scope, by) if run else []

        body = {
            "scope": scope,
            "zone": _zone_body(zone),
            "by": by,
            "time_zone": settings.TIME_ZONE,
            "window": HistoryWindow(run).data if run else None,
            "computed_at": utc_text(run.computed_at) if run else None,
            "rows": HistoryRow(figures, many=True).data,
        }
        return Response(body, headers=_download_headers(request, scope, by))

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # DRF answers an unknown ?format= with a bare 404 and takes an
        # empty one for none. When forced, it is choosing how to render an
        # error, this one among them.
        chosen = request.query_params.get("format")
        if not force and chosen is not None and chosen not in ("json", "csv"):
            raise exceptions.ValidationError({"format": "Use json or csv."})
        return super().perform_content_negotiation(request, force)


def _zone(zone_id: int | None) -> Zone | None:
    if zone_id is None:
        return None
    zone = Zone.objects.filter(pk=zone_id).first()
    if zone is None:
        raise exceptions.NotFound(f"There is no zone {zone_id}.")
    return zone


def _zone_body(zone: Zone | None) -> dict[str, Any] | None:
    if zone is None:
        return None
    return {"id": zone.pk, "name": zone.name, "camera": zone.camera_id}


def _download_headers(request: Request, scope: str, by: str) -> dict[str, str]:
    if request.query_params.get("format") != "csv":
        return {}
    name = f"occupancy-history-{scope.replace(':', '-')}-{by}.csv"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


class DashboardView(TemplateView):
    """The page for everyone: live counts and the usual day, per zone.

    The page holds no figures; its script reads them from the API, asking
    for an API key when the API wants one.
    """

    template_name = "analytics/dashboard.html"
