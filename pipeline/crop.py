"""The crop stage: from an uploaded snapshot to processed images.

It checks the snapshot, turns it upright and writes what the count stage
needs: the whole picture for the assign strategy, or one blanked crop per
zone for the crop strategy, each dated by the snapshot's arrival. The
snapshot is deleted in every case but a failure that a retry may cure,
and is not cropped at all when it is too old to be counted in time.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from PIL import Image

from audit.store import record
from pipeline.assign import pixel_box, pixel_polygon
from pipeline.images import (
    InvalidImage,
    blank_outside,
    check_snapshot,
    encode_jpeg,
    is_upright,
    load_snapshot,
)
from pipeline.keys import InvalidKey, SnapshotKey, parse_key
from pipeline.retention import expire_if_late
from pipeline.storage import arrived_at, save_arrived
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
        discard(cache, name)
        return []
    try:
        arrived = arrived_at(cache, name)
        if expire_if_late("image_cache", name, arrived):
            return []
        with cache.open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []  # already processed by an earlier delivery

    written = _process(key, data, arrived)
    cache.delete(name)
    outcome = f"{len(written)} processed image(s)" if written else "not passed on"
    record(key.camera_id, key.image_id, "crop", outcome)
    return written


def discard(store: Any, name: str) -> None:
    """Delete an object whose name is not one of ours.

    In a folder store a name with `..` or an empty segment resolves to
    another file, perhaps another camera's snapshot: such a name is no
    file the worker listed, so it is left alone.
    """
    segments = name.split("/")
    odd = any(segment in ("", ".", "..") for segment in segments)
    if odd and isinstance(store, FileSystemStorage):
        return
    store.delete(name)


def _process(key: SnapshotKey, data: bytes, arrived: datetime) -> list[str]:
    zones = zone_selections().get(key.camera_id)
    if not zones:
        logger.warning(
            "Dropped snapshot %s of camera %s: the camera has no active zones",
            key.image_id,
            key.camera_id,
        )
        return []
    try:
        if settings.COUNT_STRATEGY == "crop":
            image = load_snapshot(data, settings.MAX_IMAGE_PIXELS)
            return [_write_zone(key, image, zone, arrived) for zone in zones]
        return [_write_whole(key, data, arrived)]
    except InvalidImage as error:
        logger.warning(
            "Rejected snapshot %s of camera %s: %s", key.image_id, key.camera_id, error
        )
        return []


def _write_whole(key: SnapshotKey, data: bytes, arrived: datetime) -> str:
    # An upright snapshot is passed on as it came: decoding it in full and
    # encoding it again would cost time and quality for nothing.
    if is_upright(check_snapshot(data, settings.MAX_IMAGE_PIXELS)):
        content = data
    else:
        content = encode_jpeg(load_snapshot(data, settings.MAX_IMAGE_PIXELS))
    processed = storages["processed_images"]
    return save_arrived(processed, key.processed_name(), content, arrived)


def _write_zone(
    key: SnapshotKey, image: Image.Image, zone: ZoneShape, arrived: datetime
) -> str:
    content = encode_jpeg(zone_crop(image, zone))
    processed = storages["processed_images"]
    return save_arrived(processed, key.processed_name(zone.id), content, arrived)


def zone_crop(image: Image.Image, zone: ZoneShape) -> Image.Image:
    """The zone's bounding box, with what lies outside the zone greyed."""
    width, height = image.size
    box = pixel_box(zone, width, height)
    return blank_outside(image, pixel_polygon(zone, width, height), box)
