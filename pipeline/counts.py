"""The current counts store: the latest people count of every zone."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.db import transaction

from pipeline.models import CurrentCount


@dataclass(frozen=True)
class ZoneCount:
    camera_id: str
    zone_id: int
    zone_name: str
    people: int
    captured_at: datetime
    image_id: str
    detector: str

    def to_record(self) -> dict[str, Any]:
        """The data lake's JSON object for this count."""
        captured = self.captured_at.astimezone(UTC)
        return {
            "camera_id": self.camera_id,
            "zone_id": self.zone_id,
            "zone_name": self.zone_name,
            "people": self.people,
            "captured_at": captured.isoformat(timespec="seconds").replace(
                "+00:00", "Z"
            ),
            "image_id": self.image_id,
            "detector": self.detector,
        }


class CurrentCountsStore(Protocol):
    def record(self, counts: Iterable[ZoneCount]) -> int:
        """Keep each count unless the zone has one from a later capture.

        Returns how many zones changed. A count from the same capture as
        the stored one changes nothing, so a retry is harmless.
        """
        ...

    def for_zones(self, zone_ids: Iterable[int]) -> dict[int, ZoneCount]: ...


class RelationalCurrentCounts:
    def record(self, counts: Iterable[ZoneCount]) -> int:
        changed = 0
        with transaction.atomic():
            for count in counts:
                changed += self._record_one(count)
        return changed

    def _record_one(self, count: ZoneCount) -> int:
        fields = {
            "camera_id": count.camera_id,
            "zone_name": count.zone_name,
            "people": count.people,
            "captured_at": count.captured_at,
            "image_id": count.image_id,
            "detector": count.detector,
        }
        older = CurrentCount.objects.filter(
            zone_id=count.zone_id, captured_at__lt=count.captured_at
        )
        if older.update(**fields):
            return 1
        _, created = CurrentCount.objects.get_or_create(
            zone_id=count.zone_id, defaults=fields
        )
        return int(created)

    def for_zones(self, zone_ids: Iterable[int]) -> dict[int, ZoneCount]:
        rows = CurrentCount.objects.filter(zone_id__in=list(zone_ids))
        return {
            row.zone_id: ZoneCount(
                camera_id=row.camera_id,
                zone_id=row.zone_id,
                zone_name=row.zone_name,
                people=row.people,
                captured_at=row.captured_at,
                image_id=row.image_id,
                detector=row.detector,
            )
            for row in rows
        }


def current_counts() -> CurrentCountsStore:
    return RelationalCurrentCounts()
