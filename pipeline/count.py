"""The count stage: from a processed image to counts and records.

The data lake object is written before the current counts, and the image
is deleted last, so that a stage interrupted at any point can run again
on the same image without counting anyone twice. An image whose snapshot
arrived too long ago to be counted in time is deleted uncounted.
"""

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.files.storage import storages

from audit.store import record
from pipeline import datalake, unchanged
from pipeline.assign import people_per_zone
from pipeline.counts import ZoneCount, current_counts
from pipeline.crop import discard
from pipeline.detection.base import UnreadableImage
from pipeline.detectors import DetectorTimeout, detect_within, get_detector
from pipeline.images import InvalidImage
from pipeline.keys import InvalidKey, ProcessedKey, parse_key
from pipeline.retention import expire_if_late
from pipeline.storage import arrived_at
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
        discard(processed, name)
        return []
    try:
        if expire_if_late("processed_images", name, arrived_at(processed, name)):
            return []
        with processed.open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []

    counts = _count(key, data)
    if counts:
        datalake.append(key.snapshot, counts, key.zone_id)
        current_counts().record(counts)
    processed.delete(name)
    record(key.snapshot.camera_id, key.snapshot.image_id, "count", _outcome(counts))
    return counts


def _outcome(counts: list[ZoneCount]) -> str:
    if not counts:
        return "not counted"
    people = sum(count.people for count in counts)
    return f"{people} people in {len(counts)} zone(s)"


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
    previous = _previous(zones)
    repeated = _repeated(key, zones, previous)
    if repeated:
        return repeated
    earlier = {
        zone_id: count
        for zone_id, count in previous.items()
        if count.captured_at < snapshot.captured_at
    }
    try:
        thumb = _thumbnail(data)
        counts = _carried_over(key, zones, earlier, thumb)
        return counts or _detected(key, data, zones, earlier, thumb)
    except (InvalidImage, UnreadableImage, DetectorTimeout) as error:
        logger.warning(
            "Rejected image %s of camera %s: %s",
            snapshot.image_id,
            snapshot.camera_id,
            error,
        )
        return []


def _previous(zones: Sequence[ZoneShape]) -> dict[int, ZoneCount]:
    # Only skipping and smoothing look back: without them, a count is
    # written without reading anything.
    if settings.DETECT_EVERY == 1 and settings.SMOOTHING_WINDOW == 1:
        return {}
    return current_counts().for_zones(zone.id for zone in zones)


def _repeated(
    key: ProcessedKey, zones: Sequence[ZoneShape], previous: dict[int, ZoneCount]
) -> list[ZoneCount]:
    """The stored counts, when they are this very image's.

    A retry must write the same data lake lines again: counting the image
    afresh could compare it with itself and carry its count over.
    """
    counts = [previous.get(zone.id) for zone in zones]
    snapshot = key.snapshot
    if all(
        count is not None
        and count.image_id == snapshot.image_id
        and count.captured_at == snapshot.captured_at
        for count in counts
    ):
        return [count for count in counts if count is not None]
    return []


def _thumbnail(data: bytes) -> bytes:
    if settings.DETECT_EVERY == 1:
        return b""
    return unchanged.thumbnail(data, settings.MAX_IMAGE_PIXELS)


def _carried_over(
    key: ProcessedKey,
    zones: Sequence[ZoneShape],
    previous: dict[int, ZoneCount],
    thumb: bytes,
) -> list[ZoneCount]:
    """The previous counts, if this image shows what the detector saw.

    A count carried over keeps the fingerprint of the image the detector
    ran on, not this one's, so that a slow drift of the scene adds up
    until it is seen.
    """
    if not thumb:
        return []
    limit = settings.UNCHANGED_THRESHOLD / 100
    counts = []
    for zone in zones:
        last = previous.get(zone.id)
        if last is None or last.since_detection + 1 >= settings.DETECT_EVERY:
            return []
        now = unchanged.fingerprint(thumb, zone)
        if unchanged.changed_share(last.fingerprint, now) > limit:
            return []
        counts.append(
            _zone_count(
                key,
                zone,
                last.people,
                last.detector,
                previous=last,
                fingerprint=last.fingerprint,
                since_detection=last.since_detection + 1,
            )
        )
    return counts


def _detected(
    key: ProcessedKey,
    data: bytes,
    zones: Sequence[ZoneShape],
    previous: dict[int, ZoneCount],
    thumb: bytes,
) -> list[ZoneCount]:
    detector = get_detector()
    boxes = detect_within(detector, data, settings.DETECTOR_TIMEOUT)
    if key.zone_id is None:
        people = people_per_zone(boxes, zones)
    else:
        people = {key.zone_id: len(boxes)}
    return [
        _zone_count(
            key,
            zone,
            people[zone.id],
            detector.name,
            previous=previous.get(zone.id),
            fingerprint=unchanged.fingerprint(thumb, zone) if thumb else b"",
            since_detection=0,
        )
        for zone in zones
    ]


def _zone_count(
    key: ProcessedKey,
    zone: ZoneShape,
    people: int,
    detector: str,
    *,
    previous: ZoneCount | None,
    fingerprint: bytes,
    since_detection: int,
) -> ZoneCount:
    """The count of one zone, with the zone's recent raw counts."""
    earlier = previous.recent if previous else ()
    return ZoneCount(
        camera_id=key.snapshot.camera_id,
        zone_id=zone.id,
        zone_name=zone.name,
        people=people,
        captured_at=key.snapshot.captured_at,
        image_id=key.snapshot.image_id,
        detector=detector,
        recent=(*earlier, people)[-settings.SMOOTHING_WINDOW :],
        fingerprint=fingerprint,
        since_detection=since_detection,
    )
