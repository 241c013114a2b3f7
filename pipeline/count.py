"""The count stage: from a processed image to counts and records.

The data lake object is written before the current counts, and the image
is deleted last, so that a stage interrupted at any point can run again
on the same image without counting anyone twice.
"""

import logging

from django.core.files.storage import storages

from pipeline import datalake
from pipeline.assign import people_per_zone
from pipeline.counts import ZoneCount, current_counts
from pipeline.detection.base import UnreadableImage
from pipeline.detectors import get_detector
from pipeline.keys import InvalidKey, ProcessedKey, parse_key
from zones.geometry import ZoneShape
from zones.selections import zone_selections

logger = logging.getLogger(__name__)


def count_processed(name: str) -> list[ZoneCount]:
    """Count the people of one processed image and delete it."""
    processed = storages["processed_images"]
    try:
        key = parse_key(name)
    except InvalidKey as error:
        logger.warning("Rejected processed image: %s", error)
        processed.delete(name)
        return []
    try:
        with processed.open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []

    counts = _count(key, data)
    if counts:
        datalake.append(key.snapshot, counts, key.zone_id)
        current_counts().record(counts)
    processed.delete(name)
    return counts


def _count(key: ProcessedKey, data: bytes) -> list[ZoneCount]:
    snapshot = key.snapshot
    zones = zone_selections().get(snapshot.camera_id)
    if key.zone_id is not None:
        zones = [zone for zone in zones if zone.id == key.zone_id]
    if not zones:
        logger.warning(
            "Dropped image %s of camera %s: its zones were removed",
            snapshot.image_id,
            snapshot.camera_id,
        )
        return []
    detector = get_detector()
    try:
        boxes = detector.detect(data)
    except UnreadableImage as error:
        logger.warning(
            "Rejected image %s of camera %s: %s",
            snapshot.image_id,
            snapshot.camera_id,
            error,
        )
        return []
    if key.zone_id is None:
        people = people_per_zone(boxes, zones)
    else:
        people = {key.zone_id: len(boxes)}
    return [_zone_count(key, zone, people[zone.id], detector.name) for zone in zones]


def _zone_count(
    key: ProcessedKey, zone: ZoneShape, people: int, detector: str
) -> ZoneCount:
    return ZoneCount(
        camera_id=key.snapshot.camera_id,
        zone_id=zone.id,
        zone_name=zone.name,
        people=people,
        captured_at=key.snapshot.captured_at,
        image_id=key.snapshot.image_id,
        detector=detector,
    )
