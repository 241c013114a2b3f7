"""The history query: usual occupancy per zone and for the space.

One query, written once, runs on DuckDB over the local data lake and on
Athena over the same layout in S3. Each engine names what the query reads
from (the Glue table, or DuckDB's reading of the files); the two dialects
differ in three spellings only, and `spelling()` is the one place that
knows them.

What the query computes, in the site's time zone, for each time slot (an
hour of the day, or an hour of a weekday) inside the window:

- per zone: the mean of `people` over the zone's records captured in that
  slot, how many records there are, and their nearest-rank 10th and 90th
  percentiles as the low and high of the usual range;
- for the space: the sum of the zones' figures for the slot. Summing the
  zones' means stays right when cameras sample at different moments,
  where a per-snapshot total could not be formed at all. Its low and high
  are the sums of the zones' lows and highs, the range of the space when
  its zones are quiet or busy together.

A slot without records has no row: a closed hour is absent, not zero.
Lines that cannot be read (bad JSON, a missing zone, a negative count, an
unreadable time) in the window's partitions are counted, in `samples`, by
one extra row with the scope "skipped" and nothing else in it. Counting
them in the same pass keeps the data lake read once.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Granularity = Literal["hour", "weekday_hour"]
Dialect = Literal["duckdb", "athena"]

GRANULARITIES: tuple[Granularity, ...] = ("hour", "weekday_hour")
SKIPPED = "skipped"
LOW_PERCENTILE = 0.1
HIGH_PERCENTILE = 0.9
COLUMNS = ("scope", "weekday", "hour", "average", "samples", "low", "high")


@dataclass(frozen=True)
class Window:
    """The captures a history covers: start inclusive, end exclusive."""

    by: Granularity
    start: datetime
    end: datetime
    time_zone: str

    @property
    def first_day(self) -> date:
        return self.start.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(UTC).date()

    def partitions(self) -> list[date]:
        """The data lake's daily partitions (UTC dates) the window touches."""
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=index) for index in range(count)]


def window_ending(now: datetime, by: Granularity, days: int, time_zone: str) -> Window:
    """The last `days` days before the current hour began.

    Ending at a whole hour of the site's clock gives every slot the same
    number of days, and the figures stay put for the rest of the hour.
    """
    local = now.astimezone(ZoneInfo(time_zone))
    end = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return Window(by, end - timedelta(days=days), end, time_zone)


@dataclass(frozen=True)
class QueryRow:
    scope: str
    weekday: int | None
    hour: int | None
    average: float | None
    samples: int
    low: float | None
    high: float | None


def spelling(dialect: Dialect) -> dict[str, str]:
    """How each dialect writes what the query needs, as format templates.

    Athena (Trino) parses an ISO 8601 time with from_iso8601_timestamp and
    raises on a bad one unless wrapped in try(); DuckDB casts to a
    TIMESTAMPTZ. Both number weekdays the ISO way, Monday being 1. Athena
    has only an approximate percentile; DuckDB's exact quantile_disc is the
    nearest-rank percentile that approximation aims at.
    """
    if dialect == "athena":
        return {
            "timestamp": "try(from_iso8601_timestamp({0}))",
            "weekday": "day_of_week({0})",
            "percentile": "approx_percentile({0}, {1})",
        }
    return {
        "timestamp": "TRY_CAST({0} AS TIMESTAMPTZ)",
        "weekday": "isodow({0})",
        "percentile": "quantile_disc({0}, {1})",
    }


QUERY = """\
WITH records AS (
    SELECT zone_id, people, {captured} AS captured
    FROM {source}
    WHERE dt BETWEEN DATE '{first_day}' AND DATE '{last_day}'
),
checked AS (
    SELECT
        zone_id IS NOT NULL AND people IS NOT NULL AND people >= 0
            AND captured IS NOT NULL AS readable,
        zone_id,
        people,
        captured
    FROM records
),
kept AS (
    SELECT
        CASE WHEN readable THEN zone_id END AS zone_id,
        CASE WHEN readable THEN people END AS people,
        CASE WHEN readable THEN captured AT TIME ZONE '{time_zone}' END
            AS local_time
    FROM checked
    WHERE NOT readable OR (captured >= {start} AND captured < {end})
),
zones AS (
    SELECT
        zone_id,
        {weekday} AS weekday,
        hour(local_time) AS hour,
        avg(people) AS average,
        count(*) AS samples,
        {low} AS low,
        {high} AS high
    FROM kept
    GROUP BY 1, 2, 3
)
SELECT
    CASE
        WHEN zone_id IS NULL THEN '{skipped}'
        ELSE 'zone:' || CAST(zone_id AS VARCHAR)
    END AS scope,
    weekday, hour, average, samples, low, high
FROM zones
UNION ALL
SELECT 'space', weekday, hour, sum(average), sum(samples), sum(low), sum(high)
FROM zones
WHERE zone_id IS NOT NULL
GROUP BY weekday, hour
"""


def history_query(window: Window, dialect: Dialect, source: str) -> str:
    """The query text for one engine; source is the table it reads."""
    words = spelling(dialect)
    stamp = words["timestamp"].format
    weekday = (
        words["weekday"].format("local_time")
        if window.by == "weekday_hour"
        else "CAST(NULL AS INTEGER)"
    )
    return QUERY.format(
        source=source,
        captured=stamp("captured_at"),
        first_day=window.first_day.isoformat(),
        last_day=window.last_day.isoformat(),
        time_zone=_quoted(window.time_zone),
        start=stamp(_literal(window.start)),
        end=stamp(_literal(window.end)),
        weekday=weekday,
        low=words["percentile"].format("people", LOW_PERCENTILE),
        high=words["percentile"].format("people", HIGH_PERCENTILE),
        skipped=SKIPPED,
    )


def _literal(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat(timespec="seconds")
    return "'" + text.replace("+00:00", "Z") + "'"


def _quoted(text: str) -> str:
    # Time zone names come from settings, yet a quote must never end the
    # string literal early.
    return text.replace("'", "''")
