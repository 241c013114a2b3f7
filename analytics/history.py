"""The historical data store: usual occupancy per scope and time slot."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.db import transaction

from analytics.models import HistoricalFigure


@dataclass(frozen=True)
class Figure:
    scope: str
    slot: str
    average: float
    samples: int
    low: float
    high: float
    computed_at: datetime


class HistoricalDataStore(Protocol):
    def replace(self, figures: Iterable[Figure]) -> None:
        """Swap the whole history for figures, all at once."""
        ...

    def for_scope(self, scope: str) -> list[Figure]: ...


class RelationalHistoricalData:
    def replace(self, figures: Iterable[Figure]) -> None:
        rows = [HistoricalFigure(**figure.__dict__) for figure in figures]
        with transaction.atomic():
            HistoricalFigure.objects.all().delete()
            HistoricalFigure.objects.bulk_create(rows)

    def for_scope(self, scope: str) -> list[Figure]:
        rows = HistoricalFigure.objects.filter(scope=scope).order_by("slot")
        return [
            Figure(
                scope=row.scope,
                slot=row.slot,
                average=row.average,
                samples=row.samples,
                low=row.low,
                high=row.high,
                computed_at=row.computed_at,
            )
            for row in rows
        ]


def historical_data() -> HistoricalDataStore:
    return RelationalHistoricalData()
