"""The live picture: the latest count of every active zone."""

from datetime import datetime, timedelta
from typing import Any

from analytics.history import SPACE, zone_scope
from analytics.usual import UsualNow, usual_now
from devices.health import ONLINE, camera_status
from pipeline.counts import current_counts
from zones.models import Zone

# A zone whose camera missed this many sampling intervals is stale.
STALE_AFTER_INTERVALS = 3


def space_occupancy(now: datetime) -> dict[str, Any]:
    zones = list(Zone.objects.filter(active=True).select_related("camera"))
    counts = current_counts().for_zones(zone.pk for zone in zones)
    usual = usual_now([SPACE, *(zone_scope(zone.pk) for zone in zones)], now)
    rows = [_zone_row(zone, counts.get(zone.pk), now, usual) for zone in zones]
    known = [row for row in rows if row["people"] is not None]
    capacities = [row["capacity"] for row in rows]
    return {
        "generated_at": now,
        "total": {
            "people": sum(row["people"] for row in known),
            "capacity": None if None in capacities else sum(capacities),
            "zones": len(rows),
            "counted_zones": len(known),
            "stale": any(row["stale"] for row in rows),
            "usual": usual.figure(SPACE) if usual else None,
        },
        # The history slot the "usual" figures are taken from.
        "usual_for": usual.describe() if usual else None,
        "zones": rows,
    }


def _zone_row(
    zone: Zone, count: Any, now: datetime, usual: UsualNow | None
) -> dict[str, Any]:
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * zone.camera.sampling_interval)
    captured_at = count.captured_at if count else None
    return {
        "id": zone.pk,
        "name": zone.name,
        "camera": zone.camera_id,
        # The median of the last few counts, steadier than the latest raw
        # count beside it, which the data lake keeps.
        "people": count.live if count else None,
        "people_raw": count.people if count else None,
        "capacity": zone.capacity,
        "captured_at": captured_at,
        # A count is stale when it is old or its camera is out of touch.
        "stale": captured_at is None
        or now - captured_at > limit
        or camera_status(zone.camera, now) != ONLINE,
        "usual": usual.figure(zone_scope(zone.pk)) if usual else None,
    }
