"""Appending counts to the data lake as JSON lines.

Each counted image becomes one object under `occupancy/dt=YYYY-MM-DD/`
(the capture date in UTC) holding one line per zone. Object stores cannot
append, and one object per image makes a retry rewrite the same object
instead of adding a second copy of its lines.
"""

import json
from collections.abc import Sequence
from datetime import UTC

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from pipeline.counts import ZoneCount
from pipeline.keys import SnapshotKey

PREFIX = "occupancy"


def object_name(key: SnapshotKey, zone_id: int | None = None) -> str:
    day = key.captured_at.astimezone(UTC).date().isoformat()
    stem = key.stem.replace("/", "-")
    suffix = f".z{zone_id}" if zone_id is not None else ""
    return f"{PREFIX}/dt={day}/{stem}{suffix}.jsonl"


def append(
    key: SnapshotKey, counts: Sequence[ZoneCount], zone_id: int | None = None
) -> None:
    """Write the records of one processed image.

    A retry writes the same object again, with the same lines.
    """
    if not counts:
        return
    name = object_name(key, zone_id)
    lines = "".join(
        json.dumps(count.to_record(), separators=(",", ":")) + "\n" for count in counts
    )
    storages["data_lake"].save(name, ContentFile(lines.encode()))
