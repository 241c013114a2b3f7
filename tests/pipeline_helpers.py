from datetime import datetime

from pipeline.count import count_processed
from pipeline.counts import ZoneCount
from pipeline.crop import crop_snapshot
from pipeline.uploads import accept_snapshot


def process(camera_id: str, data: bytes, captured_at: datetime) -> list[ZoneCount]:
    """Run a snapshot through both stages, as the worker would."""
    key = accept_snapshot(camera_id, data, captured_at)
    counts = []
    for name in crop_snapshot(key.name):
        counts.extend(count_processed(name))
    return counts
