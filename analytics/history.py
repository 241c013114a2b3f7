"""The historical data store: usual occupancy per scope and time slot.

A scope is the whole space ("space") or one zone ("zone:<id>"). A slot is
an hour of the day ("h09") or an hour of an ISO weekday ("d1h09", Monday
being 1). The two granularities are refreshed, and replaced, apart; each
refresh also keeps its Run: when it was computed and the window it read.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import transaction

from analytics.models import HistoricalFigure, HistoryRun
from analytics.query import Granularity

SPACE = "space"
SLOT_PREFIX = {"hour": "h", "weekday_hour": "d"}


@dataclass(frozen=True)
class Figure:
    scope: str
    slot: str
    average: float
    samples: int
    low: float
    high: float


@dataclass(frozen=True)
class Run:
    by: Granularity
    computed_at: datetime
    window_start: datetime
    window_end: datetime


def zone_scope(zone_id: int) -> str:
    return f"zone:{zone_id}"


def slot_name(hour: int, weekday: int | None = None) -> str:
    if weekday is None:
        return f"h{hour:02d}"
    return f"d{weekday}h{hour:02d}"


def slot_parts(slot: str) -> tuple[int | None, int]:
    """The weekday (None for an hour of any day) and the hour of a slot."""
    if slot.startswith("d"):
        return int(slot[1]), int(slot[3:])
    return None, int(slot[1:])


def granularity_of(slot: str) -> Granularity:
    return "weekday_hour" if slot.startswith("d") else "hour"


class HistoricalDataStore(Protocol):
    def replace(self, run: Run, figures: Iterable[Figure]) -> None:
        """Swap all figures of the run's granularity for these."""
        ...

    def run(self, by: Granularity) -> Run | None:
        """The last refresh of a granularity, if there was one."""
        ...

    def for_scope(self, scope: str, by: Granularity) -> list[Figure]:
        """The scope's figures of one granularity, in slot order."""
        ...

    def at_slot(self, scopes: Iterable[str], slot: str) -> dict[str, Figure]:
        """The figures of one slot for several scopes, by scope."""
        ...


class RelationalHistoricalData:
    def replace(self, run: Run, figures: Iterable[Figure]) -> None:
        prefix = SLOT_PREFIX[run.by]
        rows = [HistoricalFigure(**figure.__dict__) for figure in figures]
        if any(not row.slot.startswith(prefix) for row in rows):
            raise ValueError(f"Every slot of a {run.by} refresh starts with {prefix}")
        with transaction.atomic():
            HistoricalFigure.objects.filter(slot__startswith=prefix).delete()
            HistoricalFigure.objects.bulk_create(rows)
            HistoryRun.objects.update_or_create(
                by=run.by,
                defaults={
                    "computed_at": run.computed_at,
                    "window_start": run.window_start,
                    "window_end": run.window_end,
                },
            )

    def run(self, by: Granularity) -> Run | None:
        row = HistoryRun.objects.filter(by=by).first()
        if row is None:
            return None
        return Run(by, row.computed_at, row.window_start, row.window_end)

    def for_scope(self, scope: str, by: Granularity) -> list[Figure]:
        rows = HistoricalFigure.objects.filter(
            scope=scope, slot__startswith=SLOT_PREFIX[by]
        ).order_by("slot")
        return [_figure(row) for row in rows]

    def at_slot(self, scopes: Iterable[str], slot: str) -> dict[str, Figure]:
        rows = HistoricalFigure.objects.filter(scope__in=list(scopes), slot=slot)
        return {row.scope: _figure(row) for row in rows}


def _figure(row: HistoricalFigure) -> Figure:
    return Figure(
        scope=row.scope,
        slot=row.slot,
        average=row.average,
        samples=row.samples,
        low=row.low,
        high=row.high,
    )


def historical_data() -> HistoricalDataStore:
    if settings.OCCUPANCY_BACKEND == "aws":
        # Imported here: boto3 is needed only by the aws backend.
        from analytics.dynamo import DynamoHistoricalData

        return DynamoHistoricalData(settings.HISTORICAL_DATA_TABLE)
    return RelationalHistoricalData()
