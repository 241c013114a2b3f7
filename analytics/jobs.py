"""The history job: read the data lake once, replace the historical data.

`refresh_history` is what `manage.py refresh_history`, the local scheduler
and the scheduled Lambda function all call. The query runs to completion
before anything is written, so a failed run leaves the previous history
in place, and says why in the log.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from analytics.engines import AthenaEngine, DuckDBEngine, Engine, QueryFailed
from analytics.history import (
    Figure,
    Run,
    historical_data,
    slot_name,
)
from analytics.query import (
    GRANULARITIES,
    SKIPPED,
    Granularity,
    QueryRow,
    Window,
    window_ending,
)

logger = logging.getLogger(__name__)

MAX_DAYS = 366


class RefreshFailed(Exception):
    """The history was not refreshed; the previous one is still served."""


@dataclass(frozen=True)
class Refresh:
    run: Run
    figures: int
    samples: int
    skipped: int

    def __str__(self) -> str:
        return (
            f"{self.run.by}: {self.figures} figures from {self.samples} records "
            f"captured {self.run.window_start:%Y-%m-%d %H:%M} to "
            f"{self.run.window_end:%Y-%m-%d %H:%M} UTC, "
            f"{self.skipped} unreadable skipped"
        )


def default_days(by: Granularity) -> int:
    if by == "weekday_hour":
        return settings.HISTORY_WEEKDAY_DAYS
    return settings.HISTORY_DAYS


def get_engine() -> Engine:
    if settings.OCCUPANCY_BACKEND == "aws":
        from occupancy_site import aws

        return AthenaEngine(
            aws.client("athena"),
            database=settings.ATHENA_DATABASE,
            table=settings.ATHENA_TABLE,
            workgroup=settings.ATHENA_WORKGROUP,
            output_location=settings.ATHENA_OUTPUT_LOCATION,
            timeout=settings.HISTORY_QUERY_TIMEOUT,
        )
    return DuckDBEngine(Path(storages["data_lake"].location))


def refresh_history(
    by: str = "hour",
    days: int | None = None,
    *,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> Refresh:
    """Recompute one granularity's figures and replace the stored ones.

    Raises ValueError for a bad argument and RefreshFailed when the query
    or the write fails, after logging the reason.
    """
    if by not in GRANULARITIES:
        raise ValueError(f"by must be one of {', '.join(GRANULARITIES)}, not {by!r}")
    granularity = cast(Granularity, by)
    days = days if days is not None else default_days(granularity)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be from 1 to {MAX_DAYS}, not {days}")
    now = now or timezone.now()
    window = window_ending(now, granularity, days, settings.TIME_ZONE)
    engine = engine or get_engine()

    figures, skipped = figures_from(_query(engine, window))
    if skipped:
        logger.warning(
            "Skipped %d unreadable records in the data lake from %s to %s",
            skipped,
            window.first_day,
            window.last_day,
        )
    run = Run(window.by, now, window.start, window.end)
    _store(run, figures)

    samples = sum(f.samples for f in figures if f.scope == "space")
    result = Refresh(run, len(figures), samples, skipped)
    logger.info("History refreshed with %s on %s", engine.name, result)
    return result


def _query(engine: Engine, window: Window) -> list[QueryRow]:
    try:
        return engine.run(window)
    except QueryFailed as error:
        logger.error("History by %s not refreshed, previous kept: %s", window.by, error)
        raise RefreshFailed(str(error)) from error
    except Exception as error:
        logger.exception("History by %s not refreshed, previous kept", window.by)
        raise RefreshFailed(f"{type(error).__name__}: {error}") from error


def _store(run: Run, figures: list[Figure]) -> None:
    try:
        historical_data().replace(run, figures)
    except Exception as error:
        logger.exception("History by %s not stored, previous kept", run.by)
        raise RefreshFailed(f"{type(error).__name__}: {error}") from error


def figures_from(rows: list[QueryRow]) -> tuple[list[Figure], int]:
    """The figures of the query's rows, and how many records it skipped."""
    figures, skipped = [], 0
    for row in rows:
        if row.scope == SKIPPED:
            skipped += row.samples
            continue
        if row.hour is None or row.average is None:
            continue  # never produced by the query; a guard for the store
        figures.append(
            Figure(
                scope=row.scope,
                slot=slot_name(row.hour, row.weekday),
                average=row.average,
                samples=row.samples,
                low=row.low if row.low is not None else row.average,
                high=row.high if row.high is not None else row.average,
            )
        )
    return figures, skipped
