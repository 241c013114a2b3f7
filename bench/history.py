"""The history query over a million records: DuckDB against plain Python.

    python -m bench.history     (also part of `make bench`)

Writes a week of one-a-minute counts for 100 zones (1,008,000 records) to a
temporary data lake, runs the hour-of-day history query on DuckDB, and the
same aggregation as a straightforward pure-Python pass over the same files,
in this one process. Both must give the same rows; the figure that matters
is the ratio of their times, measured together on this machine.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from analytics.query import Window

ROOT = Path(__file__).resolve().parent.parent
CAMERAS, ZONES_PER_CAMERA, DAYS = 25, 4, 7
TIME_ZONE = "Europe/Berlin"
# The week ends on a Sunday night; the history is computed half an hour on.
END = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
ROUNDS = 3


def history_benchmark() -> None:
    sys.path.insert(0, str(ROOT))
    from analytics.engines import DuckDBEngine
    from analytics.query import window_ending

    folder = Path(tempfile.mkdtemp(prefix="occupancy-bench-history-"))
    try:
        started = time.perf_counter()
        records, objects = write_week(folder / "hourly", per_image=False)
        size = sum(p.stat().st_size for p in folder.rglob("*.jsonl"))
        print(
            f"\nHistory query: {records:,} records ({CAMERAS * ZONES_PER_CAMERA} "
            f"zones x {DAYS} days, one a minute), {objects:,} objects of one "
            f"camera-hour each, {size / 1e6:.0f} MB, written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        window = window_ending(END + timedelta(minutes=30), "hour", DAYS, TIME_ZONE)
        engine = DuckDBEngine(folder / "hourly")
        (duck, duck_rows), (plain, plain_rows) = alternately(
            lambda: engine.run(window),
            lambda: python_history(folder / "hourly", window),
        )
        same = same_rows(duck_rows, plain_rows)
        print(f"  DuckDB, median of {ROUNDS}:       {duck:6.2f} s")
        print(f"  plain Python, median of {ROUNDS}: {plain:6.2f} s")
        print(
            f"  DuckDB is {plain / duck:.1f}x faster; "
            f"{len(duck_rows):,} rows, {'the same' if same else 'DIFFERENT'} "
            "from both"
        )
        per_object(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def per_object(folder: Path) -> None:
    """What one object per image, as the pipeline writes, costs each side."""
    from analytics.engines import DuckDBEngine
    from analytics.query import window_ending

    records, objects = write_week(folder / "per-image", per_image=True, days=1)
    window = window_ending(END + timedelta(minutes=30), "hour", 1, TIME_ZONE)
    engine = DuckDBEngine(folder / "per-image")
    (duck, _), (plain, _) = alternately(
        lambda: engine.run(window),
        lambda: python_history(folder / "per-image", window),
    )
    print(
        f"  one object per image instead ({objects:,} objects of "
        f"{ZONES_PER_CAMERA} lines, one day): DuckDB {duck:.2f} s, plain "
        f"Python {plain:.2f} s, {duck / objects * 1e6:.0f} and "
        f"{plain / objects * 1e6:.0f} us per object"
    )


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


def write_week(root: Path, per_image: bool, days: int = DAYS) -> tuple[int, int]:
    """Counts of every zone every minute; returns records and objects."""
    start = END - timedelta(days=days)
    records = objects = 0
    for camera in range(CAMERAS):
        for hour in range(days * 24):
            moment = start + timedelta(hours=hour)
            folder = root / "occupancy" / f"dt={moment.date().isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            images = [_image(camera, moment + timedelta(minutes=m)) for m in range(60)]
            if per_image:
                for index, lines in enumerate(images):
                    name = f"cam-{camera}-{moment:%Y%m%dT%H}{index:02d}.jsonl"
                    (folder / name).write_text(lines)
                objects += len(images)
            else:
                (folder / f"cam-{camera}-{moment:%Y%m%dT%H}.jsonl").write_text(
                    "".join(images)
                )
                objects += 1
            records += 60 * ZONES_PER_CAMERA
    return records, objects


def _image(camera: int, moment: datetime) -> str:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    minute = int(moment.timestamp() // 60)
    lines = []
    for index in range(ZONES_PER_CAMERA):
        zone = camera * ZONES_PER_CAMERA + index + 1
        # Deterministic variety: a daily swell plus a per-zone pattern.
        people = (minute * 7 + zone * 13) % 11 + (moment.hour % 12)
        lines.append(
            f'{{"camera_id":"cam-{camera}","zone_id":{zone},'
            f'"zone_name":"Zone {zone}","people":{people},'
            f'"captured_at":"{stamp}","image_id":"{minute:024x}",'
            '"detector":"bench"}\n'
        )
    return "".join(lines)


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


def same_rows(first: list, second: list) -> bool:
    def key(row) -> tuple:
        return (row.scope, row.weekday or 0, row.hour or 0)

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


if __name__ == "__main__":
    history_benchmark()
