"""The local daily refresh of the history, started by `manage.py run`.

On AWS a scheduled event calls the same `refresh_history`. Here one small
process sleeps until the configured time of day (site time), refreshes
both granularities, and sleeps again. At start-up it refreshes what missed
its last daily run, so a machine that was off at that time catches up.
"""

import logging
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from analytics.history import Run, historical_data
from analytics.jobs import RefreshFailed, refresh_history
from analytics.query import GRANULARITIES
from pipeline.compaction import compact_before_refresh

logger = logging.getLogger(__name__)

# After a failed refresh the next try comes this much later, not a day.
RETRY_AFTER = timedelta(minutes=15)


def last_due(now: datetime, at: str, time_zone: str) -> datetime:
    """The latest daily refresh time, in `time_zone`, not after now."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    due = _wall_clock(today, at, zone)
    if due > now:
        due = _wall_clock(today - timedelta(days=1), at, zone)
    return due


def next_due(now: datetime, at: str, time_zone: str) -> datetime:
    """The first daily refresh time after now."""
    due = last_due(now, at, time_zone)
    return _wall_clock(due.date() + timedelta(days=1), at, ZoneInfo(time_zone))


def _wall_clock(day: date, at: str, zone: ZoneInfo) -> datetime:
    # A day-long step in wall-clock time, not 24 hours: the refresh stays
    # at the same time of day across a daylight saving change.
    hour, minute = (int(part) for part in at.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def is_stale(run: Run | None, now: datetime, at: str, time_zone: str) -> bool:
    """Whether the last refresh is older than the last daily refresh time."""
    return run is None or run.computed_at < last_due(now, at, time_zone)


def refresh_stale(now: datetime) -> bool:
    """Refresh each granularity that missed its run; False if one failed."""
    at, time_zone = settings.HISTORY_REFRESH_AT, settings.TIME_ZONE
    close_old_connections()
    succeeded = True
    store = historical_data()
    stale = [by for by in GRANULARITIES if is_stale(store.run(by), now, at, time_zone)]
    if stale:
        # Merged objects make the query cheaper; it reads both kinds.
        compact_before_refresh(now)
    for by in stale:
        try:
            refresh_history(by, now=now)
        except RefreshFailed:
            succeeded = False  # logged by the job; the old history stays
    return succeeded


class Scheduler:
    def __init__(
        self,
        clock: Callable[[], datetime] = timezone.now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep

    def run(self, cycles: int | None = None) -> None:
        """Refresh what is stale, then wait for the next time; repeat."""
        done = 0
        while cycles is None or done < cycles:
            now = self.clock()
            wake = next_due(now, settings.HISTORY_REFRESH_AT, settings.TIME_ZONE)
            if not refresh_stale(now):
                wake = min(wake, now + RETRY_AFTER)
            logger.info("Next history refresh at %s", wake.isoformat())
            self.sleep(max((wake - self.clock()).total_seconds(), 1.0))
            done += 1
