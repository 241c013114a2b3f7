"""Deleting images that outlived their welcome.

No snapshot or processed image may be kept two minutes after the snapshot
arrived, whether it was counted or not. Every image is aged from that
arrival: a processed image carries its snapshot's (see save_arrived). The
stages delete what they handle, and refuse what is too old to finish in
time; this sweep removes what a failure or a stopped worker left behind,
early enough that the limit holds even when a sweep runs late.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from audit.store import record
from pipeline.keys import InvalidKey, parse_key
from pipeline.storage import arrived_at, walk

logger = logging.getLogger(__name__)

RETENTION_LIMIT = timedelta(minutes=2)
# The local worker sweeps on every pass, a second or so apart: images this
# old are given up on, leaving the sweep half a minute of slack.
ABANDON_AFTER = timedelta(seconds=90)
# On AWS the sweep is scheduled once a minute and may start a few seconds
# late, so an image must be given up on a minute and a quarter sooner.
SCHEDULED_ABANDON_AFTER = timedelta(seconds=45)
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
                age = now - arrived_at(store, name)
            except FileNotFoundError:
                continue  # a stage finished with it meanwhile
            if age > older_than:
                store.delete(name)
                expired.append(name)
                _warn(alias, name, age)
    return expired


def stage_deadline() -> timedelta:
    """The age past which a stage deletes an image instead of handling it.

    A stage does not work on what the sweep would give up on already, nor
    start a detection that could still be running when the limit is up.
    """
    detection = timedelta(seconds=settings.DETECTOR_TIMEOUT)
    return min(ABANDON_AFTER, RETENTION_LIMIT - detection)


def expire_if_late(alias: str, name: str, arrived: datetime) -> bool:
    """Delete the image if it is past the stage deadline; say whether."""
    age = timezone.now() - arrived
    if age <= stage_deadline():
        return False
    storages[alias].delete(name)
    _warn(alias, name, age)
    return True


def _warn(alias: str, name: str, age: timedelta) -> None:
    seconds = age.total_seconds()
    try:
        key = parse_key(name).snapshot
        what = f"image {key.image_id} of camera {key.camera_id}"
        reason = f"deleted from {alias} unprocessed after {seconds:.0f} s"
        record(key.camera_id, key.image_id, "expired", reason)
    except InvalidKey:
        what = "an unrecognised file"
    logger.warning("Deleted %s from %s unprocessed after %.0f s", what, alias, seconds)
