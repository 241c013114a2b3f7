"""The crop stage: from an uploaded snapshot to processed images.

It checks the snapshot, turns it upright and writes what the count stage
needs: the whole picture for the assign strategy, or one blanked crop per
zone for the crop strategy. The snapshot is deleted in every case but a
failure that a retry may cure.
"""

import logging

from django.conf import settings
from PIL import Image
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from pipeline.assign import pixel_box, pixel_polygon
from pipeline.images import InvalidImage, Snapshot, blank_outside, encode_jpeg, load_snapshot
from pipeline.keys import InvalidKey, SnapshotKey, parse_key
from zones.geometry import ZoneShape
from zones.selections import zone_selections

logger = logging.getLogger(__name__)


def crop_snapshot(name: str) -> list[str]:
    """Process one snapshot; return the names of the processed images."""
    cache = storages["image_cache"]
    try:
        key = parse_key(name).snapshot
    except InvalidKey as error:
        logger.warning("Rejected snapshot: %s", error)
        cache.delete(name)
        return []
    try:
        with cache.open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []  # already processed by an earlier delivery

    written = _process(key, data)
    cache.delete(name)
    return written


def _process(key: SnapshotKey, data: bytes) -> list[str]:
    zones = zone_selections().get(key.camera_id)
    if not zones:
        logger.warning(
            "Dropped snapshot %s of camera %s: the camera has no active zones",
            key.image_id,
            key.camera_id,
        )
        return []
    try:
        snapshot = load_snapshot(data, settings.MAX_IMAGE_PIXELS)
    except InvalidImage as error:
        logger.warning(
            "Rejected snapshot %s of camera %s: %s", key.image_id, key.camera_id, error
        )
        return []

    if settings.COUNT_STRATEGY == "crop":
        return [_write_zone(key, snapshot, zone) for zone in zones]
    return [_write_whole(key, snapshot, data)]


def _write_whole(key: SnapshotKey, snapshot: Snapshot, data: bytes) -> str:
    # An upright snapshot is passed on as it came: re-encoding would cost
    # time and quality for nothing.
    content = encode_jpeg(snapshot.image) if snapshot.reoriented else data
    name = key.processed_name()
    storages["processed_images"].save(name, ContentFile(content))
    return name


def _write_zone(key: SnapshotKey, snapshot: Snapshot, zone: ZoneShape) -> str:
    name = key.processed_name(zone.id)
    content = encode_jpeg(zone_crop(snapshot.image, zone))
    storages["processed_images"].save(name, ContentFile(content))
    return name


def zone_crop(image: Image.Image, zone: ZoneShape) -> Image.Image:
    """The zone's bounding box, with what lies outside the zone greyed."""
    width, height = image.size
    box = pixel_box(zone, width, height)
    return blank_outside(image, pixel_polygon(zone, width, height), box)
