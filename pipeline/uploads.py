"""Accepting a snapshot from a camera into the image cache."""

from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from pipeline.images import check_snapshot
from pipeline.keys import SnapshotKey, image_id_for


def accept_snapshot(camera_id: str, data: bytes, captured_at: datetime) -> SnapshotKey:
    """Check a snapshot and queue it for the crop stage.

    Raises InvalidImage, before anything is stored, when the data is not
    a sound JPEG within the size limits. Sending the same snapshot twice
    stores it once.
    """
    check_snapshot(data, settings.MAX_IMAGE_PIXELS)
    key = SnapshotKey(
        camera_id=camera_id, captured_at=captured_at, image_id=image_id_for(data)
    )
    cache = storages["image_cache"]
    if not cache.exists(key.name):
        cache.save(key.name, ContentFile(data))
    return key
