"""Plausible past counts for the demo camera's zones.

A fresh checkout has no history, so the dashboard's chart would stay
empty for a week. These records follow a walkway's day: closed at night,
a morning and an evening rush on weekdays, a later and flatter weekend,
with random variation around that. They are written to the data lake as
the pipeline writes, with the detector name "demo", one object per camera
and hour instead of one per image, so that a month stays a few hundred
files.
"""

import hashlib
import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.files.storage import storages

DETECTOR = "demo"
OPENS, CLOSES = 6, 23  # local hours with records: 06:00 to 22:59


@dataclass(frozen=True)
class DemoZone:
    camera_id: str
    zone_id: int
    name: str
    capacity: int
    # How busy the zone is at its peak, as a share of its capacity.
    peak_share: float


def expected_people(zone: DemoZone, local: datetime) -> float:
    """The mean count of a zone at a local time: two rushes on weekdays."""
    hour = local.hour + local.minute / 60
    if local.isoweekday() <= 5:
        shape = _bump(hour, 8.5, 1.2) + 0.9 * _bump(hour, 17.5, 1.5)
        shape += 0.45 * _bump(hour, 12.5, 1.0)
    else:
        shape = 0.6 * _bump(hour, 14.0, 3.0)
    return 0.3 + zone.capacity * zone.peak_share * shape


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def records(
    zones: list[DemoZone],
    start: datetime,
    end: datetime,
    interval: int,
    time_zone: str,
    seed: int,
) -> Iterator[tuple[datetime, list[dict]]]:
    """The records of each UTC hour from start to end, hour by hour.

    Captures fall on whole multiples of the interval, and each one's
    counts come from a generator seeded with its time: a run over an
    overlapping span writes the same counts for the same moments.
    """
    zone_info = ZoneInfo(time_zone)
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    step = timedelta(seconds=interval)
    moment = datetime.fromtimestamp(
        math.ceil(start.timestamp() / interval) * interval, UTC
    )
    while hour < end:
        lines = []
        while moment < min(hour + timedelta(hours=1), end):
            local = moment.astimezone(zone_info)
            if OPENS <= local.hour < CLOSES:
                lines.extend(_image(zones, moment, local, seed))
            moment += step
        yield hour, lines
        hour += timedelta(hours=1)


def _image(
    zones: list[DemoZone], moment: datetime, local: datetime, seed: int
) -> list[dict]:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    rng = random.Random(f"{seed}/{stamp}")
    lines = []
    for zone in zones:
        picture = f"{zone.camera_id}/{stamp}".encode()
        image_id = hashlib.sha256(picture).hexdigest()[:24]
        mean = expected_people(zone, local)
        people = max(0, round(rng.gauss(mean, math.sqrt(mean))))
        lines.append(
            {
                "camera_id": zone.camera_id,
                "zone_id": zone.zone_id,
                "zone_name": zone.name,
                "people": min(people, zone.capacity * 2),
                "captured_at": stamp,
                "image_id": image_id,
                "detector": DETECTOR,
            }
        )
    return lines


def lake_is_empty() -> bool:
    """Whether the data lake holds no record at all, as on a first start."""
    from pipeline.storage import walk

    return next(iter(walk(storages["data_lake"])), None) is None


def write_demo_history(
    zones: list[DemoZone],
    end: datetime,
    days: int,
    interval: int,
    time_zone: str,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write `days` days of records before `end`; returns how many.

    The same seed writes the same objects under the same names, so a
    second run replaces the first instead of doubling it.
    """
    start = end - timedelta(days=days)
    store = storages["data_lake"]
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = math.ceil((end - first) / timedelta(hours=1))
    total = 0
    produced = records(zones, start, end, interval, time_zone, seed)
    for index, (hour, lines) in enumerate(produced, start=1):
        for camera_id in sorted({line["camera_id"] for line in lines}):
            mine = [line for line in lines if line["camera_id"] == camera_id]
            store.save(_object_name(camera_id, hour), _content(mine))
            total += len(mine)
        if progress is not None:
            progress(index, hours)
    return total


def _object_name(camera_id: str, hour: datetime) -> str:
    return (
        f"occupancy/dt={hour.date().isoformat()}/"
        f"{camera_id}-{hour:%Y%m%dT%H%M%S}-{DETECTOR}.jsonl"
    )


def _content(lines: list[dict]) -> ContentFile:
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return ContentFile(text.encode())
