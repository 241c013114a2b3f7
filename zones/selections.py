"""The zone selections store: the polygons of each camera's active zones.

Zones are edited in the relational database; every change is mirrored
here so that the pipeline stages read one small record per camera.
"""

import time
from typing import Protocol

from django.conf import settings
from django.db import transaction

from devices.models import Camera
from zones.dynamo import DynamoZoneSelections
from zones.geometry import ZoneShape
from zones.models import Zone, ZoneSelection


class ZoneSelectionsStore(Protocol):
    def get(self, camera_id: str) -> list[ZoneShape]: ...

    def put(self, camera_id: str, zones: list[ZoneShape]) -> None: ...

    def camera_ids(self) -> set[str]: ...

    def delete(self, camera_id: str) -> None: ...


class RelationalZoneSelections:
    def get(self, camera_id: str) -> list[ZoneShape]:
        row = ZoneSelection.objects.filter(camera_id=camera_id).first()
        if row is None:
            return []
        return [ZoneShape.from_dict(item) for item in row.zones]

    def put(self, camera_id: str, zones: list[ZoneShape]) -> None:
        ZoneSelection.objects.update_or_create(
            camera_id=camera_id,
            defaults={"zones": [zone.to_dict() for zone in zones]},
        )

    def camera_ids(self) -> set[str]:
        return set(ZoneSelection.objects.values_list("camera_id", flat=True))

    def delete(self, camera_id: str) -> None:
        ZoneSelection.objects.filter(camera_id=camera_id).delete()


class CachedZoneSelections:
    """Keeps each camera's zones in memory for a few seconds.

    The pipeline reads a camera's zones for every snapshot, and zones
    change rarely: a change made in another process reaches the pipeline
    within CACHE_SECONDS; one made in this process, at once.
    """

    def __init__(self, store: ZoneSelectionsStore, seconds: float) -> None:
        self._store = store
        self._seconds = seconds
        self._cache: dict[str, tuple[float, list[ZoneShape]]] = {}

    def get(self, camera_id: str) -> list[ZoneShape]:
        now = time.monotonic()
        cached = self._cache.get(camera_id)
        if cached is None or cached[0] <= now:
            cached = (now + self._seconds, self._store.get(camera_id))
            self._cache[camera_id] = cached
        return list(cached[1])

    def put(self, camera_id: str, zones: list[ZoneShape]) -> None:
        self._cache.pop(camera_id, None)
        self._store.put(camera_id, zones)

    def camera_ids(self) -> set[str]:
        return self._store.camera_ids()

    def delete(self, camera_id: str) -> None:
        self._cache.pop(camera_id, None)
        self._store.delete(camera_id)

    def forget(self) -> None:
        self._cache.clear()


CACHE_SECONDS = 5.0
# The store in use and the settings it was made for: tests switch backends.
_current: tuple[tuple[str, str], CachedZoneSelections] | None = None


def zone_selections() -> CachedZoneSelections:
    global _current
    made_for = (settings.OCCUPANCY_BACKEND, settings.ZONE_SELECTIONS_TABLE)
    current = _current
    if current is None or current[0] != made_for:
        current = (made_for, CachedZoneSelections(_backend_store(), CACHE_SECONDS))
        _current = current
    return current[1]


def _backend_store() -> ZoneSelectionsStore:
    if settings.OCCUPANCY_BACKEND == "aws":
        return DynamoZoneSelections(settings.ZONE_SELECTIONS_TABLE)
    return RelationalZoneSelections()


def mirror_camera(camera_id: str) -> None:
    """Make the store hold exactly the camera's active zones."""
    store = zone_selections()
    if not Camera.objects.filter(pk=camera_id).exists():
        store.delete(camera_id)
        return
    zones = Zone.objects.filter(camera_id=camera_id, active=True).order_by("pk")
    store.put(camera_id, [zone.shape() for zone in zones])


def mirror_all() -> int:
    """Repair the whole store; returns how many cameras were written."""
    store = zone_selections()
    camera_ids = set(Camera.objects.values_list("pk", flat=True))
    with transaction.atomic():
        for stale in store.camera_ids() - camera_ids:
            store.delete(stale)
        for camera_id in sorted(camera_ids):
            mirror_camera(camera_id)
    return len(camera_ids)
