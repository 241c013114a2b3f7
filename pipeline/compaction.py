"""Merging a finished day of the data lake into one object per camera-hour.

The count stage writes one small object per counted image, and a query
over the lake pays for every object it opens, whatever its size. Once no
count can land in a day any more, its per-image objects are merged into
`occupancy/dt=YYYY-MM-DD/<camera>-<YYYYmmddTHH>.compacted.jsonl`, in the
same partition folder, so the Glue table and DuckDB read them unchanged.

Each camera-hour is done on its own, in an order that survives a crash at
any point: the merged object is written whole first (an atomic rename
locally, a single PUT on S3), then read back, and only the small objects
whose every record it holds are deleted. A rerun merges the remaining
small objects with the merged object's own lines, one line per record
(image id and zone), so nothing is lost or counted twice. Lines are kept
byte for byte, fields and all. Objects with other names (written by hand
or by the demo generator) are left alone.
"""

import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from pipeline.datalake import PREFIX

logger = logging.getLogger(__name__)

SUFFIX = ".compacted.jsonl"
# The scheduled run looks this many finished days back, so that a missed
# run, or a camera's buffered snapshots counted late, are merged too.
LOOKBACK_DAYS = 7
# Reads and deletes of one camera-hour run in parallel: on S3 each is a
# request whose latency dominates.
WORKERS = 8

_CAMERA = r"(?P<camera>[a-z0-9][a-z0-9-]{0,62})"
PER_IMAGE = re.compile(
    _CAMERA + r"-(?P<hour>\d{8}T\d{2})\d{4}\.\d{6}Z-[0-9a-f]{24}"
    r"(?:\.z[1-9][0-9]{0,17})?\.jsonl"
)
COMPACTED = re.compile(_CAMERA + r"-(?P<hour>\d{8}T\d{2})" + re.escape(SUFFIX))
PARTITION = re.compile(r"dt=(\d{4}-\d{2}-\d{2})")


class DayNotFinished(ValueError):
    """The day may still receive counts; compacting it is refused."""


@dataclass(frozen=True)
class CompactionResult:
    day: date
    merged: int  # camera-hour objects written
    removed: int  # per-image objects merged and deleted
    records: int  # lines in the objects written
    complete: bool  # False when time ran out before every hour was done

    def __str__(self) -> str:
        rest = "" if self.complete else ", the rest left for the next run"
        return (
            f"{self.day}: {self.removed} objects merged into {self.merged} "
            f"holding {self.records} records{rest}"
        )


@dataclass
class _Hour:
    target: str
    target_exists: bool = False
    sources: list[str] = field(default_factory=list)


def folder(day: date) -> str:
    return f"{PREFIX}/dt={day.isoformat()}"


def merged_name(camera_id: str, hour: datetime) -> str:
    """The name of a camera's merged object for the hour starting at `hour`."""
    hour = hour.astimezone(UTC)
    return f"{folder(hour.date())}/{camera_id}-{hour:%Y%m%dT%H}{SUFFIX}"


def finished_before(now: datetime) -> date:
    """The first day that is not finished at `now`, in UTC."""
    after = timedelta(hours=settings.DATA_LAKE_COMPACT_AFTER_HOURS)
    return (now - after).astimezone(UTC).date()


def compact_day(
    day: date, *, now: datetime | None = None, deadline: float | None = None
) -> CompactionResult:
    """Merge the per-image objects of one finished day.

    Raises DayNotFinished for a day that may still receive counts. With a
    deadline (a time.monotonic() value), no new camera-hour is started
    after it.
    """
    now = now or timezone.now()
    if day >= finished_before(now):
        raise DayNotFinished(
            f"{day} is not finished: it can be compacted from "
            f"{settings.DATA_LAKE_COMPACT_AFTER_HOURS} hours after its end (UTC)"
        )
    storage = storages["data_lake"]
    merged = removed = records = 0
    complete = True
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for hour in _hours(storage, day):
            if deadline is not None and time.monotonic() > deadline:
                complete = False
                break
            lines, deleted = _compact_hour(storage, hour, pool)
            merged, removed, records = merged + 1, removed + deleted, records + lines
    result = CompactionResult(day, merged, removed, records, complete)
    if merged:
        logger.info("Compacted the data lake's %s", result)
    return result


def compact_finished_days(
    now: datetime | None = None, budget: float | None = None
) -> list[CompactionResult]:
    """Compact the last LOOKBACK_DAYS finished days.

    With a budget in seconds, stops starting new work once it is spent;
    what is left waits for the next run.
    """
    now = now or timezone.now()
    deadline = None if budget is None else time.monotonic() + budget
    last = finished_before(now) - timedelta(days=1)
    days = [last - timedelta(days=back) for back in range(LOOKBACK_DAYS - 1, -1, -1)]
    return _compact_days(days, now, deadline)


def compact_before_refresh(
    now: datetime | None = None, budget: float | None = None
) -> list[CompactionResult]:
    """The scheduled compaction, unless switched off; it never raises.

    A failure is logged and the history refresh that follows still runs:
    the query reads merged and unmerged objects alike.
    """
    if not settings.DATA_LAKE_COMPACTION:
        return []
    try:
        return compact_finished_days(now, budget)
    except Exception:
        logger.exception("Could not compact the data lake; will try next run")
        return []


def compact_all(now: datetime | None = None) -> list[CompactionResult]:
    """Compact every finished day the data lake holds."""
    now = now or timezone.now()
    first_unfinished = finished_before(now)
    days = [day for day in partitions() if day < first_unfinished]
    return _compact_days(days, now, None)


def partitions() -> list[date]:
    """The days that have a partition folder in the data lake, in order."""
    try:
        folders, _ = storages["data_lake"].listdir(PREFIX)
    except FileNotFoundError:
        return []  # a local lake's folder appears with its first object
    days = []
    for name in folders:
        match = PARTITION.fullmatch(name)
        if match is None:
            continue
        try:
            days.append(date.fromisoformat(match[1]))
        except ValueError:
            continue  # dt=2026-02-30: not a day
    return sorted(days)


def _compact_days(
    days: Iterable[date], now: datetime, deadline: float | None
) -> list[CompactionResult]:
    results = []
    for day in days:
        if deadline is not None and time.monotonic() > deadline:
            break
        result = compact_day(day, now=now, deadline=deadline)
        if result.merged or not result.complete:
            results.append(result)
    return results


def _hours(storage: Any, day: date) -> list[_Hour]:
    """The camera-hours of a day that have per-image objects to merge."""
    base = folder(day)
    try:
        _, files = storage.listdir(base)
    except FileNotFoundError:
        return []
    hours: dict[str, _Hour] = {}
    compacted = set()
    for name in sorted(files):
        if match := PER_IMAGE.fullmatch(name):
            key = f"{match['camera']}-{match['hour']}"
            # As merged_name() spells it, without parsing a time that a
            # misplaced object could hold wrong.
            target = f"{base}/{key}{SUFFIX}"
            hours.setdefault(key, _Hour(target)).sources.append(f"{base}/{name}")
        elif COMPACTED.fullmatch(name):
            compacted.add(f"{base}/{name}")
    for hour in hours.values():
        hour.target_exists = hour.target in compacted
    return [hour for _, hour in sorted(hours.items())]


def _compact_hour(
    storage: Any, hour: _Hour, pool: ThreadPoolExecutor
) -> tuple[int, int]:
    """Write one camera-hour's merged object, then delete what it holds.

    Returns the merged object's lines and the objects deleted.
    """
    texts = list(pool.map(lambda name: _read(storage, name), hour.sources))
    earlier = _read(storage, hour.target) if hour.target_exists else b""
    lines = list(_unique_lines([earlier, *texts]))
    storage.save(hour.target, ContentFile(b"".join(lines)))

    # Read back, so that a small object is deleted only when its records
    # are certainly in the merged object, even if another run rewrote it.
    held = {_identity(line) for line in _lines(_read(storage, hour.target))}
    done = [
        name
        for name, text in zip(hour.sources, texts, strict=True)
        if {_identity(line) for line in _lines(text)} <= held
    ]
    list(pool.map(storage.delete, done))
    return len(lines), len(done)


def _read(storage: Any, name: str) -> bytes:
    try:
        with storage.open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""  # merged and deleted by a run alongside this one


def _lines(text: bytes) -> Iterator[bytes]:
    for line in text.split(b"\n"):
        if line.strip():
            yield line + b"\n"


def _unique_lines(texts: Iterable[bytes]) -> Iterator[bytes]:
    """Every line once per record, the first copy kept as it was written."""
    seen: set[tuple] = set()
    for text in texts:
        for line in _lines(text):
            identity = _identity(line)
            if identity in seen:
                continue
            seen.add(identity)
            yield line


def _identity(line: bytes) -> tuple:
    """A record is one zone of one image; any other line is its own text."""
    try:
        record = json.loads(line)
    except ValueError:
        return ("line", line)
    if not isinstance(record, dict):
        return ("line", line)
    image_id, zone_id = record.get("image_id"), record.get("zone_id")
    if isinstance(image_id, str) and type(zone_id) is int:
        return ("record", image_id, zone_id)
    return ("line", line)
