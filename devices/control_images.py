"""Control images: the pictures administrators draw zones on.

A camera sends one when asked. They are kept in the control images store
under `<camera>/<YYYYmmddTHHMMSS.ffffffZ>-<image id>.jpg` for a limited
time, and only staff may see them.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from pipeline.images import check_snapshot
from pipeline.keys import STAMP_FORMAT, SnapshotKey, image_id_for
from pipeline.storage import arrived_at, walk

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-[0-9a-f]{24}\.jpg$")


@dataclass(frozen=True)
class ControlImage:
    camera_id: str
    name: str
    captured_at: datetime


def save_control_image(camera_id: str, data: bytes, captured_at: datetime) -> str:
    """Check a control image and store it; raises InvalidImage."""
    check_snapshot(data, settings.MAX_IMAGE_PIXELS)
    key = SnapshotKey(camera_id, captured_at, image_id_for(data))
    storages["control_images"].save(key.name, ContentFile(data))
    return key.name


def control_images_of(camera_id: str, limit: int = 24) -> list[ControlImage]:
    """The camera's control images, newest first."""
    store = storages["control_images"]
    found = []
    for name in walk(store, camera_id):
        parsed = _parse(camera_id, name)
        if parsed is not None:
            found.append(parsed)
    found.sort(key=lambda image: image.captured_at, reverse=True)
    return found[:limit]


def find_control_image(camera_id: str, name: str) -> ControlImage | None:
    """The control image called name, if it belongs to this camera."""
    parsed = _parse(camera_id, f"{camera_id}/{name}")
    if parsed is None or not storages["control_images"].exists(parsed.name):
        return None
    return parsed


def expire_control_images(now: datetime, keep: timedelta) -> int:
    """Delete control images older than keep; return how many went."""
    store = storages["control_images"]
    expired = 0
    for name in walk(store):
        try:
            arrived = arrived_at(store, name)
        except FileNotFoundError:
            continue
        if now - arrived > keep:
            store.delete(name)
            expired += 1
    if expired:
        logger.info("Deleted %d control images older than %s", expired, keep)
    return expired


def _parse(camera_id: str, name: str) -> ControlImage | None:
    folder, _, file = name.partition("/")
    match = _NAME.match(file)
    if folder != camera_id or match is None:
        return None
    try:
        stamp = datetime.strptime(match["stamp"], STAMP_FORMAT)
    except ValueError:
        return None
    return ControlImage(camera_id, name, stamp.replace(tzinfo=UTC))
