"""The history job on DuckDB over a hand-built data lake (history_helpers)."""

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from analytics.engines import DuckDBEngine
from analytics.history import Figure, historical_data
from analytics.jobs import refresh_history
from analytics.query import window_ending
from tests.history_helpers import (
    NOW,
    READING_RECORDS,
    TABLES_RECORDS,
    TIME_ZONE,
    build_known_lake,
    write_count,
)


@pytest.fixture
def lake(db, settings):
    settings.TIME_ZONE = TIME_ZONE
    build_known_lake()


def figures(scope: str, by: str = "hour") -> dict[str, Figure]:
    return {f.slot: f for f in historical_data().for_scope(scope, by)}


def summary(figure: Figure) -> tuple[float, int, float, float]:
    return (round(figure.average, 4), figure.samples, figure.low, figure.high)


def test_it_averages_each_zone_by_local_hour_with_samples_and_spread(lake):
    result = refresh_history("hour", now=NOW)

    assert result.run.window_start == datetime(2026, 3, 26, 10, tzinfo=UTC)
    assert result.run.window_end == datetime(2026, 4, 2, 10, tzinfo=UTC)
    assert result.run.computed_at == NOW
    reading = figures("zone:1")
    assert summary(reading["h09"]) == (4.5, 10, 0, 8)
    tables = figures("zone:2")
    assert summary(tables["h09"]) == (2.0, 2, 1, 3)
    assert summary(tables["h12"]) == (20.0, 3, 10, 30)


def test_the_space_sums_the_zones_that_sample_at_different_moments(lake):
    refresh_history("hour", now=NOW)

    space = figures("space")
    # Reading room 4.5 at :00 and :30, Tables 2.0 at :15 and :45.
    assert summary(space["h09"]) == (6.5, 12, 1, 11)
    assert summary(space["h12"]) == (20.0, 3, 10, 30)


def test_hours_without_records_are_absent_not_zero(lake):
    refresh_history("hour", now=NOW)

    assert "h12" not in figures("zone:1")  # the reading room shuts at noon
    assert set(figures("zone:2")) == {"h09", "h12"}
    assert set(figures("space")) == {"h01", "h02", "h03", "h09", "h12"}


def test_it_reads_the_site_clock_across_a_daylight_saving_change(lake):
    refresh_history("hour", now=NOW)

    reading = figures("zone:1")
    # 00:30 and 01:30 UTC on the night of the change are 01:30 winter time
    # and 03:30 summer time; 01:30 UTC the night before was 02:30.
    assert summary(reading["h01"]) == (2.0, 1, 2, 2)
    assert summary(reading["h02"]) == (6.0, 1, 6, 6)
    assert summary(reading["h03"]) == (4.0, 1, 4, 4)
    # 08:00 UTC in winter and 07:00 UTC in summer are both 09:00.
    assert reading["h09"].samples == 10
    assert "h07" not in reading and "h08" not in reading


def test_it_leaves_out_records_outside_the_window(lake):
    result = refresh_history("hour", now=NOW)

    # Each record outside the window holds 100 people.
    assert max(f.high for f in historical_data().for_scope("space", "hour")) == 30
    assert result.samples == len(READING_RECORDS) + len(TABLES_RECORDS)


def test_it_reads_only_the_partitions_inside_the_window(lake):
    root = Path(storages["data_lake"].location)
    window = window_ending(NOW, "hour", 7, TIME_ZONE)

    sources = DuckDBEngine(root).sources(window)

    days = sorted(Path(source).parent.name for source in sources)
    # 20 March holds records but lies outside; 29 March and 2 April are
    # inside and hold some.
    assert days[0] == "dt=2026-03-26" and days[-1] == "dt=2026-04-02"
    assert "dt=2026-03-20" not in days and "dt=2026-03-29" in days


def test_it_skips_and_logs_unreadable_lines_and_still_refreshes(lake, caplog):
    caplog.set_level(logging.WARNING, logger="analytics.jobs")

    result = refresh_history("hour", now=NOW)

    assert result.skipped == 2
    assert "Skipped 2 unreadable records" in caplog.text
    assert figures("zone:1")["h09"].samples == 10


def test_it_computes_weekday_by_hour_over_four_weeks(lake):
    result = refresh_history("weekday_hour", now=NOW)

    assert result.run.window_start == datetime(2026, 3, 5, 10, tzinfo=UTC)
    reading = figures("zone:1", "weekday_hour")
    # Friday 09h: 27 March (0, 1) and, four weeks back, 20 March (100).
    assert summary(reading["d5h09"]) == (33.6667, 3, 0, 100)
    assert summary(reading["d6h09"]) == (2.5, 2, 2, 3)  # Saturday
    assert summary(reading["d4h09"]) == (100.0, 1, 100, 100)  # 26 March
    assert summary(reading["d7h03"]) == (4.0, 1, 4, 4)  # the change's Sunday
    space = figures("space", "weekday_hour")
    assert summary(space["d1h09"]) == (6.5, 4, 5, 8)  # Monday 30 March
    assert summary(space["d2h12"]) == (15.0, 2, 10, 20)


def test_the_two_granularities_are_kept_apart(lake):
    refresh_history("hour", now=NOW)
    refresh_history("weekday_hour", now=NOW)
    refresh_history("hour", now=NOW + timedelta(days=1))

    assert "d5h09" in figures("zone:1", "weekday_hour")
    assert historical_data().run("weekday_hour").computed_at == NOW
    assert historical_data().run("hour").computed_at == NOW + timedelta(days=1)


def test_a_record_in_the_last_second_of_the_window_counts(lake):
    write_count(1, 5, "2026-04-02T09:59:59Z")

    refresh_history("hour", now=NOW)

    assert figures("zone:1")["h11"].average == 5


def test_it_refuses_an_unknown_granularity_or_window(lake):
    with pytest.raises(ValueError, match="by must be one of"):
        refresh_history("minute", now=NOW)
    with pytest.raises(ValueError, match="days must be"):
        refresh_history("hour", days=0, now=NOW)

    assert historical_data().run("hour") is None


def test_an_empty_data_lake_gives_an_empty_history_that_was_computed(db):
    result = refresh_history("hour", now=NOW)

    assert result.figures == 0
    assert historical_data().run("hour").computed_at == NOW
    assert historical_data().for_scope("space", "hour") == []


def test_a_file_that_is_not_text_counts_as_one_unreadable_line(lake):
    storages["data_lake"].save(
        "occupancy/dt=2026-03-30/library-garbled.jsonl",
        ContentFile(b"\xff\xfe\x00garbled\n\x81"),
    )

    result = refresh_history("hour", now=NOW)

    assert result.skipped == 3
    assert figures("zone:1")["h09"].samples == 10
