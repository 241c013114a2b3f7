"""manage.py refresh_history and generate_demo_history."""

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from analytics.demo import lake_is_empty
from analytics.history import historical_data, slot_name
from devices.demo import DEMO_CAMERA
from pipeline.storage import walk
from tests.history_helpers import history_on_aws, write_count
from zones.models import Zone

TIME_ZONE = "Europe/Berlin"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def yesterday(db, settings):
    """Three counts of the reading room at one hour yesterday."""
    settings.TIME_ZONE = TIME_ZONE
    moment = timezone.now() - timedelta(days=1)
    for minutes, people in ((0, 2), (1, 4), (2, 9)):
        at = (moment + timedelta(minutes=minutes)).replace(microsecond=0)
        write_count(1, people, at.isoformat())
    local = moment.astimezone(ZoneInfo(TIME_ZONE))
    # The three may straddle an hour; the test looks at the first one's.
    return local


def test_refresh_history_replaces_the_history_and_says_what_it_did(yesterday):
    output = run("refresh_history")

    assert output.startswith("History refreshed: hour: ")
    assert "unreadable skipped" in output
    figures = historical_data().for_scope("zone:1", "hour")
    assert figures[0].slot == slot_name(yesterday.hour)
    assert sum(figure.samples for figure in figures) == 3
    assert historical_data().run("weekday_hour") is None


def test_refresh_history_by_weekday_over_a_chosen_window(yesterday):
    run("refresh_history", "--by", "weekday_hour", "--days", "14")

    store = historical_data()
    run_ = store.run("weekday_hour")
    assert run_.window_end - run_.window_start == timedelta(days=14)
    slot = slot_name(yesterday.hour, yesterday.isoweekday())
    assert store.for_scope("space", "weekday_hour")[0].slot == slot


@pytest.mark.parametrize(
    "args, message",
    [
        (["--days", "0"], "days must be from 1 to 366"),
        (["--days", "400"], "days must be from 1 to 366"),
    ],
)
def test_refresh_history_refuses_a_bad_window(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("refresh_history", *args)

    assert historical_data().run("hour") is None


def test_refresh_history_reports_a_failure_and_keeps_the_history(
    db, settings, monkeypatch
):
    with history_on_aws(settings, monkeypatch, workgroup="not-there"):
        with pytest.raises(CommandError, match="History not refreshed"):
            run("refresh_history")

        assert historical_data().run("hour") is None


def test_generate_demo_history_fills_the_lake_and_the_history(db, settings):
    settings.TIME_ZONE = TIME_ZONE

    output = run("generate_demo_history", "--days", "3", "--interval", "300")

    assert "[" + "#" * 30 + "]" in output  # the progress bar, full
    assert "records written to the data lake" in output
    assert output.count("History refreshed:") == 2
    zones = Zone.objects.filter(camera_id=DEMO_CAMERA)
    assert sorted(zone.name for zone in zones) == ["East road", "West path"]
    west = zones.get(name="West path")
    figures = historical_data().for_scope(f"zone:{west.pk}", "hour")
    hours = {figure.slot for figure in figures}
    # The walkway is watched from 06:00 to 23:00, site time.
    assert hours == {slot_name(hour) for hour in range(6, 23)}


def test_generate_demo_history_twice_writes_the_same_objects(db):
    run("generate_demo_history", "--days", "1", "--no-refresh")
    lake = storages["data_lake"]
    first = {name: lake.open(name).read() for name in walk(lake)}

    run("generate_demo_history", "--days", "1", "--no-refresh")

    # Whole hours repeat byte for byte; only the newest, still growing
    # hour and the oldest, shrinking one may differ.
    second = {name: lake.open(name).read() for name in walk(lake)}
    same = [name for name in first if second.get(name) == first[name]]
    assert len(same) >= len(first) - 2
    assert historical_data().run("hour") is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--days", "0"], "--days must be from 1 to 366"),
        (["--interval", "1"], "--interval must be from 10 to 3600"),
    ],
)
def test_generate_demo_history_refuses_bad_arguments(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("generate_demo_history", *args)

    assert walk(storages["data_lake"]) == []


def test_the_data_lake_is_empty_until_a_record_is_written(db):
    assert lake_is_empty()

    run("generate_demo_history", "--days", "1", "--no-refresh")

    assert not lake_is_empty()
