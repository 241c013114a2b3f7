"""The current counts store: the latest people count of every zone."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

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
    # The raw counts of the zone's last snapshots, oldest first, this one
    # last: the live figure is their median.
    recent: tuple[int, ...] = ()
    # What the detector last ran on (pipeline.unchanged), and how many
    # snapshots ago: 0 when it ran on this one.
    fingerprint: bytes = b""
    since_detection: int = 0

    @property
    def detected(self) -> bool:
        """Whether the detector ran on this snapshot, rather than its
        count being carried over from an unchanged earlier one."""
        return self.since_detection == 0

    @property
    def live(self) -> int:
        """The figure to show: the median of the recent raw counts."""
        if not self.recent:
            return self.people
        return statistics.median_low(self.recent)

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
            "detected": self.detected,
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
    # One statement per count, valid on SQLite and PostgreSQL alike: insert
    # the zone's first count, or replace the stored one only when this
    # capture is later. Doing it in the database leaves no window for a
    # concurrent writer between a read and a write.
    UPSERT = """
        INSERT INTO {table} (zone_id, camera_id, zone_name, people,
                             captured_at, image_id, detector, recent,
                             fingerprint, since_detection, updated)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (zone_id) DO UPDATE SET
            camera_id = excluded.camera_id,
            zone_name = excluded.zone_name,
            people = excluded.people,
            captured_at = excluded.captured_at,
            image_id = excluded.image_id,
            detector = excluded.detector,
            recent = excluded.recent,
            fingerprint = excluded.fingerprint,
            since_detection = excluded.since_detection,
            updated = excluded.updated
        WHERE excluded.captured_at > {table}.captured_at
    """

    def record(self, counts: Iterable[ZoneCount]) -> int:
        ops = connection.ops
        now = ops.adapt_datetimefield_value(timezone.now())
        rows = [
            (
                count.zone_id,
                count.camera_id,
                count.zone_name,
                count.people,
                ops.adapt_datetimefield_value(count.captured_at),
                count.image_id,
                count.detector,
                ",".join(str(people) for people in count.recent),
                count.fingerprint,
                count.since_detection,
                now,
            )
            for count in counts
        ]
        if not rows:
            return 0
        table = connection.ops.quote_name(CurrentCount._meta.db_table)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(self.UPSERT.format(table=table), rows)
            return max(cursor.rowcount, 0)

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
                recent=tuple(int(people) for people in row.recent.split(",") if people),
                fingerprint=bytes(row.fingerprint),
                since_detection=row.since_detection,
            )
            for row in rows
        }


def current_counts() -> CurrentCountsStore:
    if settings.OCCUPANCY_BACKEND == "aws":
        # Imported here: the DynamoDB store builds on ZoneCount above.
        from pipeline.dynamo import DynamoCurrentCounts

        return DynamoCurrentCounts(settings.CURRENT_COUNTS_TABLE)
    return RelationalCurrentCounts()
