"""What the history API accepts and what it answers."""

from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from analytics.history import Figure, Run, slot_parts
from analytics.query import GRANULARITIES


class HistoryQuery(serializers.Serializer):
    zone = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    by = serializers.ChoiceField(choices=GRANULARITIES, default="hour")


class HistoryRow(serializers.Serializer):
    weekday = serializers.IntegerField(required=False)
    hour = serializers.IntegerField()
    average = serializers.FloatField()
    samples = serializers.IntegerField()
    low = serializers.FloatField()
    high = serializers.FloatField()

    def to_representation(self, figure: Figure) -> dict[str, Any]:
        weekday, hour = slot_parts(figure.slot)
        row: dict[str, Any] = {"weekday": weekday} if weekday is not None else {}
        row.update(
            hour=hour,
            average=round(figure.average, 2),
            samples=figure.samples,
            low=figure.low,
            high=figure.high,
        )
        return row


class HistoryWindow(serializers.Serializer):
    # In UTC, as every time the API gives; the rows are in site time.
    start = serializers.DateTimeField(source="window_start", default_timezone=UTC)
    end = serializers.DateTimeField(source="window_end", default_timezone=UTC)
    days = serializers.SerializerMethodField()

    def get_days(self, run: Run) -> int:
        return round((run.window_end - run.window_start).total_seconds() / 86_400)


def utc_text(moment: datetime) -> str:
    """A time as the API writes it: ISO 8601 in UTC, with a Z."""
    return serializers.DateTimeField(default_timezone=UTC).to_representation(moment)
