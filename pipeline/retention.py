"""Deleting images that outlived their welcome.

No snapshot or processed image may be kept two minutes after it arrived,
whether it was counted or not. The stages delete what they handle; this
sweep removes what a failure or a stopped worker left behind, early
enough that the limit holds even when a sweep runs late.
"""

import logging
from datetime import datetime, timedelta

from django.core.files.storage import storages
from django.utils import timezone

from audit.store import record
from pipeline.keys import InvalidKey, parse_key
from pipeline.storage import walk

logger = logging.getLogger(__name__)

RETENTION_LIMIT = timedelta(minutes=2)
# Images this old are given up on, leaving the sweep half a minute of slack.
ABANDON_AFTER = timedelta(seconds=90)
IMAGE_STORES = ("image_cache", "processed_images")


def expire_images(
    now: datetime | None = None, older_than: timedelta = ABANDON_AFTER
) -> list[str]:
    """Delete every image older than older_than; return their names."""
    now = now or timezone.now()
    expired = []
    for alias in IMAGE_STORES:
        store = storages[alias]
        for name in walk(store):
            try:
                age = now - store.get_modified_time(name)
            except FileNotFoundError:
                continue  # a stage finished with it meanwhile
            if age > older_than:
                store.delete(name)
                expired.append(name)
                _warn(alias, name, age)
    return expired


def _warn(alias: str, name: str, age: timedelta) -> None:
    seconds = age.total_seconds()
    try:
        key = parse_key(name).snapshot
        what = f"image {key.image_id} of camera {key.camera_id}"
        reason = f"deleted from {alias} unprocessed after {seconds:.0f} s"
        record(key.camera_id, key.image_id, "expired", reason)
    except InvalidKey:
        what = "an unrecognised file"
    logger.warning(
        "Deleted %s from %s unprocessed after %.0f s", what, alias, age.total_seconds()
    )
