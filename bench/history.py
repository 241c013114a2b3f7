"""The history query over a million records: DuckDB against plain Python.

    python -m bench.history     (also part of `make bench`)

Writes a week of one-a-minute counts for 100 zones (1,008,000 records) to a
temporary data lake. Its last day is in the layout the count stage writes:
one object per counted image, under the data lake writer's own names
(36,000 objects). Writing and compacting all 252,000 such objects of the
week would take minutes, so the six days before it are written directly
as the compaction leaves them: one object per camera per hour. Then, in
this one process:

1. the query over the last day, one object per image, on DuckDB and as a
   straightforward pure-Python pass, giving the cost per object;
2. the compaction of that day with the product's own code; its objects
   must be byte for byte those written directly for the other days;
3. the same day again, then the whole week, on the compacted layout.

Both engines must give the same rows, and the compacted day the same rows
as before; the figures that matter are the ratios of times measured
together on this machine.
"""

import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from analytics.query import Window
    from pipeline.compaction import CompactionResult

ROOT = Path(__file__).resolve().parent.parent
CAMERAS, ZONES_PER_CAMERA, DAYS = 25, 4, 7
TIME_ZONE = "Europe/Berlin"
# The week ends on a Sunday night; the history is computed half an hour on.
END = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
ROUNDS = 3


def history_benchmark() -> None:
    from django.conf import settings
    from django.test import override_settings

    # The data lake store, for the compaction, is this temporary folder.
    folder = Path(tempfile.mkdtemp(prefix="occupancy-bench-history-"))
    lake = {
        "BACKEND": "pipeline.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": folder},
    }
    try:
        # The bench's last day ends at END; it must count as finished.
        with override_settings(
            STORAGES={**settings.STORAGES, "data_lake": lake},
            DATA_LAKE_COMPACT_AFTER_HOURS=2,
        ):
            measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(folder: Path) -> None:
    from analytics.query import window_ending

    started = time.perf_counter()
    records, per_image, hourly = write_week(folder)
    size = sum(p.stat().st_size for p in folder.rglob("*.jsonl"))
    print(
        f"\nHistory query: {records:,} records ({CAMERAS * ZONES_PER_CAMERA} "
        f"zones x {DAYS} days, one a minute), {size / 1e6:.0f} MB: the last "
        f"day in {per_image:,} objects of one image each, as the count stage "
        f"writes them, the days before in {hourly:,} objects of one "
        f"camera-hour each; written in {time.perf_counter() - started:.1f} s"
    )
    day = window_ending(END + timedelta(minutes=30), "hour", 1, TIME_ZONE)
    before = compare("last day, one object per image", folder, day)

    started = time.perf_counter()
    result = compact(day.first_day, END + timedelta(days=1))
    spent = time.perf_counter() - started
    same = "the same" if same_as_written(folder, day.first_day) else "NOT the same"
    print(
        f"  compaction (pipeline.compaction) of that day: {result.removed:,} "
        f"objects into {result.merged:,} holding {result.records:,} records "
        f"in {spent:.1f} s, {spent / result.removed * 1e6:.0f} us per object; "
        f"{same} bytes as the other days' objects"
    )

    after = compare("last day, one object per camera-hour", folder, day)
    unchanged = "the same" if same_rows(after, before) else "DIFFERENT"
    print(f"  the day's rows are {unchanged} before and after compaction")
    week = window_ending(END + timedelta(minutes=30), "hour", DAYS, TIME_ZONE)
    compare("the week, one object per camera-hour", folder, week)


def compare(title: str, folder: Path, window: "Window") -> list:
    """Time both engines over the window; print and return DuckDB's rows."""
    from analytics.engines import DuckDBEngine

    objects = sum(
        len(list((folder / "occupancy" / f"dt={day}").glob("*.jsonl")))
        for day in window.partitions()
    )
    engine = DuckDBEngine(folder)
    (duck, duck_rows), (plain, plain_rows) = alternately(
        lambda: engine.run(window),
        lambda: python_history(folder, window),
    )
    same = "the same" if same_rows(duck_rows, plain_rows) else "DIFFERENT"
    print(
        f"  {title} ({objects:,} objects), median of {ROUNDS}: DuckDB "
        f"{duck:.2f} s, plain Python {plain:.2f} s; DuckDB "
        f"{plain / duck:.1f}x faster; {duck / objects * 1e6:.0f} and "
        f"{plain / objects * 1e6:.0f} us per object; {len(duck_rows):,} rows, "
        f"{same} from both"
    )
    return sorted(duck_rows, key=_key)


def compact(day: date, now: datetime) -> "CompactionResult":
    """The product's compaction of one day."""
    from pipeline.compaction import compact_day

    return compact_day(day, now=now)


def same_as_written(root: Path, day: date) -> bool:
    """Whether the compacted day holds exactly what write_week writes
    directly for a camera-hour, under the same names."""
    from pipeline.compaction import merged_name

    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    expected = {}
    for hour in range(24):
        moment = start + timedelta(hours=hour)
        for camera in range(CAMERAS):
            name = merged_name(f"cam-{camera}", moment)
            expected[name] = _hour_of(camera, moment)
    folder = root / "occupancy" / f"dt={day.isoformat()}"
    found = {
        str(path.relative_to(root)): path.read_text() for path in folder.glob("*.jsonl")
    }
    return found == expected


def alternately(
    first: Callable[[], list], second: Callable[[], list]
) -> tuple[tuple[float, list], tuple[float, list]]:
    """Median times of both, run in turns so that both meet the same load."""
    times: tuple[list[float], list[float]] = ([], [])
    results: list[list] = [[], []]
    for _ in range(ROUNDS):
        for index, work in enumerate((first, second)):
            started = time.perf_counter()
            results[index] = work()
            times[index].append(time.perf_counter() - started)
    return (
        (statistics.median(times[0]), results[0]),
        (statistics.median(times[1]), results[1]),
    )


def write_week(root: Path) -> tuple[int, int, int]:
    """Counts of every zone every minute; returns the records, and the
    objects of one image and of one camera-hour written."""
    from pipeline.compaction import merged_name
    from pipeline.datalake import object_name
    from pipeline.keys import SnapshotKey

    sample = END - timedelta(days=1)
    records = per_image = hourly = 0
    for hour in range(DAYS * 24):
        moment = END - timedelta(days=DAYS) + timedelta(hours=hour)
        for camera in range(CAMERAS):
            records += 60 * ZONES_PER_CAMERA
            if moment < sample:
                _write(
                    root / merged_name(f"cam-{camera}", moment),
                    _hour_of(camera, moment),
                )
                hourly += 1
                continue
            for minute in range(60):
                at = moment + timedelta(minutes=minute)
                lines, image_id = _image(camera, at)
                key = SnapshotKey(f"cam-{camera}", at, image_id)
                _write(root / object_name(key), lines)
                per_image += 1
    return records, per_image, hourly


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except FileNotFoundError:
        path.parent.mkdir(parents=True)
        path.write_text(text)


def _hour_of(camera: int, hour: datetime) -> str:
    """A camera's lines of one hour, in order, as one object."""
    return "".join(_image(camera, hour + timedelta(minutes=m))[0] for m in range(60))


def _image(camera: int, moment: datetime) -> tuple[str, str]:
    """The lines of one camera's image at `moment`, and its image id."""
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    minute = int(moment.timestamp() // 60)
    image_id = f"{camera:04x}{minute:020x}"
    lines = []
    for index in range(ZONES_PER_CAMERA):
        zone = camera * ZONES_PER_CAMERA + index + 1
        # Deterministic variety: a daily swell plus a per-zone pattern.
        people = (minute * 7 + zone * 13) % 11 + (moment.hour % 12)
        lines.append(
            f'{{"camera_id":"cam-{camera}","zone_id":{zone},'
            f'"zone_name":"Zone {zone}","people":{people},'
            f'"captured_at":"{stamp}","image_id":"{image_id}",'
            '"detector":"bench"}\n'
        )
    return "".join(lines), image_id


def python_history(root: Path, window: "Window") -> list:
    """The same figures as the history query, one line at a time."""
    from analytics.query import HIGH_PERCENTILE, LOW_PERCENTILE, QueryRow

    zone_info = ZoneInfo(window.time_zone)
    samples: dict[tuple[int, int], list[int]] = defaultdict(list)
    skipped = 0
    for day in window.partitions():
        folder = root / "occupancy" / f"dt={day.isoformat()}"
        for path in sorted(folder.glob("*.jsonl")):
            with path.open() as lines:
                for line in lines:
                    record = _parse(line)
                    if record is None:
                        skipped += 1
                        continue
                    zone_id, people, captured = record
                    if window.start <= captured < window.end:
                        hour = captured.astimezone(zone_info).hour
                        samples[(zone_id, hour)].append(people)

    rows, space = [], defaultdict(lambda: [0.0, 0, 0.0, 0.0])
    for (zone_id, hour), values in samples.items():
        values.sort()
        count = len(values)
        average = sum(values) / count
        low = float(values[max(math.ceil(LOW_PERCENTILE * count), 1) - 1])
        high = float(values[max(math.ceil(HIGH_PERCENTILE * count), 1) - 1])
        rows.append(QueryRow(f"zone:{zone_id}", None, hour, average, count, low, high))
        total = space[hour]
        total[0] += average
        total[1] += count
        total[2] += low
        total[3] += high
    for hour, (average, count, low, high) in space.items():
        rows.append(QueryRow("space", None, hour, average, count, low, high))
    if skipped:
        rows.append(QueryRow("skipped", None, None, None, skipped, None, None))
    return rows


def _parse(line: str) -> tuple[int, int, datetime] | None:
    try:
        record = json.loads(line)
        zone_id, people = int(record["zone_id"]), int(record["people"])
        captured = datetime.fromisoformat(record["captured_at"])
    except (ValueError, KeyError, TypeError):
        return None
    if people < 0 or captured.tzinfo is None:
        return None
    return zone_id, people, captured


def _key(row) -> tuple:
    return (row.scope, row.weekday or 0, row.hour or 0)


def same_rows(first: list, second: list) -> bool:
    key = _key
    if len(first) != len(second):
        return False
    pairs_of_rows = zip(sorted(first, key=key), sorted(second, key=key), strict=True)
    for one, other in pairs_of_rows:
        if key(one) != key(other) or one.samples != other.samples:
            return False
        pairs = [(one.average, other.average), (one.low, other.low)]
        pairs.append((one.high, other.high))
        if any(not math.isclose(a or 0, b or 0, rel_tol=1e-9) for a, b in pairs):
            return False
    return True


def _setup() -> None:
    """Django, for the data lake store, when run on its own."""
    import atexit
    import os

    sys.path.insert(0, str(ROOT))
    data_dir = tempfile.mkdtemp(prefix="occupancy-bench-")
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ.setdefault("OCCUPANCY_DATA_DIR", data_dir)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "occupancy_site.settings")
    import django

    django.setup()


if __name__ == "__main__":
    _setup()
    history_benchmark()
