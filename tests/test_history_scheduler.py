"""The local daily refresh: at start-up when stale, then every day."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from analytics.history import Run, historical_data
from analytics.scheduler import (
    RETRY_AFTER,
    Scheduler,
    is_stale,
    last_due,
    next_due,
    refresh_stale,
)
from tests.history_helpers import NOW, TIME_ZONE, build_known_lake, history_on_aws

BERLIN = "Europe/Berlin"


class FakeClock:
    """Time that passes only when the scheduler sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.naps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def lake(db, settings):
    settings.TIME_ZONE = TIME_ZONE
    settings.HISTORY_REFRESH_AT = "03:30"
    build_known_lake()


def test_the_refresh_time_is_site_time_and_survives_a_clock_change():
    # 01:00 winter time on the night clocks go forward at 02:00.
    now = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)

    assert last_due(now, "03:30", BERLIN) == datetime(2026, 3, 28, 2, 30, tzinfo=UTC)
    # 03:30 summer time is 01:30 UTC: 23 hours later, same time of day.
    assert next_due(now, "03:30", BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_refresh_at_exactly_the_due_time_is_due_now():
    due = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)

    assert last_due(due, "03:30", BERLIN) == due
    assert next_due(due, "03:30", BERLIN) == due + timedelta(days=1)


def test_a_history_is_stale_once_a_daily_refresh_time_has_passed_since():
    due = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
    window = (due - timedelta(days=7), due)

    def run(at: datetime) -> Run:
        return Run("hour", at, *window)

    assert is_stale(None, due, "03:30", BERLIN)
    assert is_stale(run(due - timedelta(minutes=1)), due, "03:30", BERLIN)
    assert not is_stale(run(due), due + timedelta(hours=23), "03:30", BERLIN)


def test_at_start_up_it_refreshes_what_missed_its_run_and_nothing_else(lake):
    assert refresh_stale(NOW) is True

    store = historical_data()
    assert store.run("hour").computed_at == NOW
    assert store.run("weekday_hour").computed_at == NOW

    later = NOW + timedelta(hours=2)  # 14:20 local, before the next 03:30
    assert refresh_stale(later) is True
    assert store.run("hour").computed_at == NOW


def test_it_refreshes_every_day_at_the_set_time(lake):
    clock = FakeClock(NOW)

    Scheduler(clock=clock, sleep=clock.sleep).run(cycles=2)

    # 12:20 on 2 April to 03:30 on 3 April, site time: 15 h 10 min.
    assert clock.naps[0] == 15 * 3600 + 10 * 60
    run = historical_data().run("weekday_hour")
    assert run.computed_at == datetime(2026, 4, 3, 1, 30, tzinfo=UTC)
    assert run.window_end == datetime(2026, 4, 3, 1, 0, tzinfo=UTC)
    assert clock.naps[1] == 24 * 3600


@pytest.fixture
def failing_athena(db, settings, monkeypatch):
    with history_on_aws(settings, monkeypatch, workgroup="not-there"):
        yield


def test_after_a_failed_refresh_it_tries_again_soon_and_keeps_running(
    failing_athena, caplog
):
    caplog.set_level(logging.ERROR, logger="analytics.jobs")
    clock = FakeClock(NOW)

    Scheduler(clock=clock, sleep=clock.sleep).run(cycles=2)

    assert clock.naps == [RETRY_AFTER.total_seconds()] * 2
    assert "WorkGroup" in caplog.text
    assert historical_data().run("hour") is None
