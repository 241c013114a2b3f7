"""Merging a finished day of the data lake into one object per camera-hour."""

import hashlib
import io
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from analytics.engines import DuckDBEngine
from analytics.history import historical_data
from analytics.query import COLUMNS, window_ending
from analytics.scheduler import refresh_stale
from pipeline import compaction
from pipeline.compaction import (
    DayNotFinished,
    compact_all,
    compact_day,
    compact_finished_days,
)
from pipeline.counts import ZoneCount
from pipeline.datalake import append
from pipeline.handlers import history_handler
from pipeline.keys import SnapshotKey
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    REGION,
    aws_credentials,
    on_aws,
    provisioned,
)
from tests.helpers import stored
from tests.history_helpers import NOW, TIME_ZONE, build_known_lake

DAY = date(2025, 12, 3)
# Two hours after the day's end (UTC), when it counts as finished.
FINISHED = datetime(2025, 12, 4, 2, 0, tzinfo=UTC)


def count_image(camera: str, at: datetime, zones: dict[int, int], **kw) -> None:
    """One counted image, written by the count stage's own writer."""
    image_id = hashlib.sha256(f"{camera}{at}".encode()).hexdigest()[:24]
    counts = [
        ZoneCount(camera, zone, f"Zone {zone}", people, at, image_id, "test", **kw)
        for zone, people in zones.items()
    ]
    append(SnapshotKey(camera, at, image_id), counts)


def write_two_cameras_two_hours() -> None:
    for minute in (0, 20, 40):
        morning = datetime(2025, 12, 3, 9, minute, 5, tzinfo=UTC)
        count_image("library", morning, {1: minute // 10, 2: 3})
        count_image("cafeteria", morning, {7: 1}, since_detection=2)
        count_image("library", morning + timedelta(hours=1), {1: 4, 2: 0})


def lake_lines() -> Counter[bytes]:
    """Every line of every object in the data lake, with how often."""
    store = storages["data_lake"]
    lines: Counter[bytes] = Counter()
    for name in stored("data_lake"):
        with store.open(name, "rb") as handle:
            lines.update(line + b"\n" for line in handle.read().splitlines())
    return lines


def day_names(day: date = DAY) -> list[str]:
    prefix = f"occupancy/dt={day.isoformat()}/"
    names = stored("data_lake")
    return [name.removeprefix(prefix) for name in names if name.startswith(prefix)]


def test_it_merges_a_day_into_one_object_per_camera_hour_keeping_every_line():
    write_two_cameras_two_hours()
    before = lake_lines()

    result = compact_day(DAY, now=FINISHED)

    assert (result.merged, result.removed, result.records) == (3, 9, 15)
    assert result.complete
    assert day_names() == [
        "cafeteria-20251203T09.compacted.jsonl",
        "library-20251203T09.compacted.jsonl",
        "library-20251203T10.compacted.jsonl",
    ]
    assert lake_lines() == before
    assert all(count == 1 for count in before.values())
    carried = json.loads(next(line for line in before if b'"zone_id":7' in line))
    assert carried["detected"] is False


def test_merged_objects_are_named_as_merged_name_spells_them():
    write_two_cameras_two_hours()

    compact_day(DAY, now=FINISHED)

    nine = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
    assert compaction.merged_name("library", nine) in stored("data_lake")
    ten_in_paris = datetime.fromisoformat("2025-12-03T11:00:00+01:00")
    assert compaction.merged_name("library", ten_in_paris) in stored("data_lake")


def test_a_zone_crop_per_object_is_merged_as_well():
    at = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)
    key = SnapshotKey("gym", at, "ab" * 12)
    for zone in (3, 4):
        count = ZoneCount("gym", zone, "Mats", zone, at, key.image_id, "test")
        append(key, [count], zone_id=zone)
    before = lake_lines()

    compact_day(DAY, now=FINISHED)

    assert day_names() == ["gym-20251203T09.compacted.jsonl"]
    assert lake_lines() == before


def test_a_rerun_after_a_crash_before_the_deletes_doubles_nothing(monkeypatch):
    write_two_cameras_two_hours()
    before = lake_lines()
    store = storages["data_lake"]
    delete = store.delete
    deleted: list[str] = []

    def power_cut(name: str) -> None:
        if len(deleted) == 2:
            raise OSError("power cut")
        deleted.append(name)
        delete(name)

    monkeypatch.setattr(store, "delete", power_cut)
    with pytest.raises(OSError):
        compact_day(DAY, now=FINISHED)
    monkeypatch.setattr(store, "delete", delete)
    assert "cafeteria-20251203T09.compacted.jsonl" in day_names()
    assert len(day_names()) == 1 + 9 - 2  # merged, and what was not deleted

    result = compact_day(DAY, now=FINISHED)

    assert result.removed == 7
    assert len(day_names()) == 3
    assert lake_lines() == before


def test_objects_counted_after_a_compaction_are_merged_by_the_next_one():
    write_two_cameras_two_hours()
    compact_day(DAY, now=FINISHED)
    late = datetime(2025, 12, 3, 9, 50, tzinfo=UTC)
    count_image("library", late, {1: 9, 2: 9})
    before = lake_lines()

    result = compact_day(DAY, now=FINISHED + timedelta(days=1))

    assert (result.merged, result.removed, result.records) == (1, 1, 8)
    assert len(day_names()) == 3
    assert lake_lines() == before


def test_a_compacted_day_is_compacted_again_without_change():
    write_two_cameras_two_hours()
    compact_day(DAY, now=FINISHED)
    before = lake_lines()

    result = compact_day(DAY, now=FINISHED)

    assert (result.merged, result.removed) == (0, 0)
    assert lake_lines() == before


def test_it_refuses_a_day_that_has_not_finished_and_changes_nothing():
    write_two_cameras_two_hours()
    names = day_names()

    with pytest.raises(DayNotFinished):
        compact_day(DAY, now=FINISHED - timedelta(minutes=1))

    assert day_names() == names


def test_the_scheduled_run_leaves_today_and_the_recent_past_alone():
    write_two_cameras_two_hours()
    today = datetime(2025, 12, 4, 0, 30, tzinfo=UTC)
    count_image("library", today, {1: 2, 2: 2})

    assert compact_finished_days(FINISHED - timedelta(minutes=1)) == []
    assert len(day_names()) == 9

    results = compact_finished_days(FINISHED)

    assert [(r.day, r.removed) for r in results] == [(DAY, 9)]
    assert len(day_names()) == 3
    assert len(day_names(date(2025, 12, 4))) == 1


def test_the_scheduled_run_looks_back_a_week_only():
    write_two_cameras_two_hours()
    week_later = FINISHED + timedelta(days=compaction.LOOKBACK_DAYS)

    assert compact_finished_days(week_later) == []
    assert len(compact_all(week_later)) == 1
    assert len(day_names()) == 3


def rows_of(engine: DuckDBEngine, by: str) -> list:
    window = window_ending(NOW, by, 28, TIME_ZONE)
    key = lambda row: (row.scope, row.weekday or 0, row.hour or 0)  # noqa: E731
    return sorted(engine.run(window), key=key)


def test_the_history_query_gives_the_same_rows_before_and_after():
    build_known_lake()
    engine = DuckDBEngine(storages["data_lake"].location)
    before = {by: rows_of(engine, by) for by in ("hour", "weekday_hour")}
    assert any(row.scope == "skipped" for row in before["hour"])

    compact_day(date(2026, 3, 30), now=NOW)  # one day merged, others not
    halfway = {by: rows_of(engine, by) for by in ("hour", "weekday_hour")}
    results = compact_all(NOW)
    after = {by: rows_of(engine, by) for by in ("hour", "weekday_hour")}

    assert halfway == before
    assert after == before
    assert sum(result.merged for result in results) > 5
    names = stored("data_lake")
    # The current day, and an object of another name, are kept as they are.
    assert sum(".compacted." not in name for name in names) == 2
    assert "occupancy/dt=2026-03-31/library-unreadable.jsonl" in names


def test_the_daily_refresh_compacts_first(db, settings):
    settings.TIME_ZONE = TIME_ZONE
    build_known_lake()

    assert refresh_stale(NOW) is True

    names = stored("data_lake")
    assert "occupancy/dt=2026-03-30/library-20260330T07.compacted.jsonl" in names
    # Left: the current day, a day more than a week back, another name.
    assert sum(".compacted." not in name for name in names) == 3
    assert "occupancy/dt=2026-03-20/" in " ".join(names)
    figures = {f.slot: f for f in historical_data().for_scope("zone:1", "hour")}
    assert (figures["h09"].average, figures["h09"].samples) == (4.5, 10)


def test_the_daily_refresh_does_not_compact_when_switched_off(db, settings):
    settings.TIME_ZONE = TIME_ZONE
    settings.DATA_LAKE_COMPACTION = False
    build_known_lake()

    refresh_stale(NOW)

    assert not any(".compacted." in name for name in stored("data_lake"))


def test_the_command_compacts_one_day_or_every_day():
    write_two_cameras_two_hours()
    count_image("gym", datetime(2025, 12, 1, 8, 0, tzinfo=UTC), {5: 1})
    out = io.StringIO()

    call_command("compact_data_lake", "--day", "2025-12-03", stdout=out)
    assert "2025-12-03: 9 objects merged into 3 holding 15 records" in out.getvalue()
    assert len(day_names()) == 3

    call_command("compact_data_lake", "--all", stdout=out)
    assert day_names(date(2025, 12, 1)) == ["gym-20251201T08.compacted.jsonl"]


@pytest.mark.parametrize(
    "day, message",
    [
        ("3 December", "YYYY-MM-DD"),
        ("2026-02-30", "YYYY-MM-DD"),
        ("2999-01-01", "not finished"),
    ],
)
def test_the_command_rejects_a_bad_or_unfinished_day(day, message):
    with pytest.raises(CommandError, match=message):
        call_command("compact_data_lake", "--day", day, stdout=io.StringIO())


def make_lake_bucket() -> None:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=NAMES["DATA_LAKE_BUCKET"],
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )


def s3_lines() -> tuple[list[str], Counter[bytes]]:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = NAMES["DATA_LAKE_BUCKET"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    lines: Counter[bytes] = Counter()
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines.update(line + b"\n" for line in body.splitlines())
    return sorted(keys), lines


def test_it_compacts_the_s3_data_lake_and_survives_a_crash(on_aws, monkeypatch):  # noqa: F811
    make_lake_bucket()
    write_two_cameras_two_hours()
    _, before = s3_lines()
    store = storages["data_lake"]
    delete = store.delete
    monkeypatch.setattr(store, "delete", lambda name: (_ for _ in ()).throw(OSError))
    with pytest.raises(OSError):
        compact_day(DAY, now=FINISHED)
    monkeypatch.setattr(store, "delete", delete)

    result = compact_day(DAY, now=FINISHED)

    keys, after = s3_lines()
    assert (result.merged, result.removed) == (3, 9)
    assert keys == [
        "occupancy/dt=2025-12-03/cafeteria-20251203T09.compacted.jsonl",
        "occupancy/dt=2025-12-03/library-20251203T09.compacted.jsonl",
        "occupancy/dt=2025-12-03/library-20251203T10.compacted.jsonl",
    ]
    assert after == before


def queue_athena_answer(*values: str | None) -> None:
    """The one row moto's Athena answers the next query with, after the
    header row; moto runs no SQL."""

    def cells(row: tuple) -> dict:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}

    answer = QueryResults(rows=[cells(COLUMNS), cells(values)], column_info=[])
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(answer)


class LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.mark.django_db
def test_the_daily_lambda_compacts_finished_days_then_refreshes(provisioned):  # noqa: F811
    three_days_ago = datetime.now(UTC).replace(hour=9, minute=0) - timedelta(days=3)
    count_image("library", three_days_ago, {1: 2, 2: 1})
    count_image("library", three_days_ago + timedelta(minutes=5), {1: 2, 2: 1})
    queue_athena_answer("space", None, "9", "2.0", "3", "1", "3")

    summary = history_handler({"detail-type": "Scheduled Event"}, LambdaContext())

    keys, lines = s3_lines()
    assert keys == [
        f"occupancy/dt={three_days_ago:%Y-%m-%d}/"
        f"library-{three_days_ago:%Y%m%dT%H}.compacted.jsonl"
    ]
    assert sum(lines.values()) == 4
    assert summary["refreshed"][0]["figures"] == 1
