"""The usual occupancy of the current hour, to compare live counts with."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from analytics.history import Figure, historical_data, slot_name
from analytics.query import Granularity


@dataclass(frozen=True)
class UsualNow:
    by: Granularity
    weekday: int | None
    hour: int
    figures: dict[str, Figure]

    def describe(self) -> dict[str, Any]:
        return {"by": self.by, "weekday": self.weekday, "hour": self.hour}

    def figure(self, scope: str) -> dict[str, Any] | None:
        figure = self.figures.get(scope)
        if figure is None:
            return None  # no record in this hour: usually closed or empty
        return figure_body(figure)


def figure_body(figure: Figure) -> dict[str, Any]:
    return {
        "average": round(figure.average, 2),
        "samples": figure.samples,
        "low": figure.low,
        "high": figure.high,
    }


def usual_now(scopes: Iterable[str], now: datetime) -> UsualNow | None:
    """The figures of this hour's slot, or None before any history.

    The weekday view is the more telling one ("on a Tuesday at two"), so
    it is used once it has been computed; the hour of day otherwise.
    """
    store = historical_data()
    by: Granularity = "weekday_hour"
    if store.run(by) is None:
        by = "hour"
        if store.run(by) is None:
            return None
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    weekday = local.isoweekday() if by == "weekday_hour" else None
    slot = slot_name(local.hour, weekday)
    return UsualNow(by, weekday, local.hour, store.at_slot(scopes, slot))
