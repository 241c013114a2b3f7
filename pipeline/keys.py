"""Object names of snapshots and processed images.

A snapshot's name carries its camera, its capture time and an id derived
from its bytes: `<camera>/<YYYYmmddTHHMMSS.ffffffZ>-<image id>.jpg`.
Processed images add the zone for the crop strategy:
`<camera>/<stamp>-<image id>.z<zone id>.jpg`. The names sort by capture
time within a camera, and a retried upload lands on the same name.
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
_NAME = re.compile(
    r"^(?P<camera>[a-z0-9][a-z0-9-]{0,62})/"
    r"(?P<stamp>\d{8}T\d{6}\.\d{6}Z)-(?P<image>[0-9a-f]{24})"
    r"(?:\.z(?P<zone>[1-9][0-9]{0,17}))?\.jpg$"
)


class InvalidKey(ValueError):
    pass


def image_id_for(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:24]


@dataclass(frozen=True)
class SnapshotKey:
    camera_id: str
    captured_at: datetime
    image_id: str

    @property
    def stem(self) -> str:
        stamp = self.captured_at.astimezone(UTC).strftime(STAMP_FORMAT)
        return f"{self.camera_id}/{stamp}-{self.image_id}"

    @property
    def name(self) -> str:
        return f"{self.stem}.jpg"

    def processed_name(self, zone_id: int | None = None) -> str:
        if zone_id is None:
            return self.name
        return f"{self.stem}.z{zone_id}.jpg"


@dataclass(frozen=True)
class ProcessedKey:
    snapshot: SnapshotKey
    zone_id: int | None


def parse_key(name: str) -> ProcessedKey:
    """Parse a snapshot or processed image name, or raise InvalidKey."""
    match = _NAME.match(name)
    if match is None:
        raise InvalidKey(f"not a snapshot name: {name[:200]!r}")
    try:
        captured_at = datetime.strptime(match["stamp"], STAMP_FORMAT)
    except ValueError:
        raise InvalidKey(f"impossible capture time in {name!r}")
    snapshot = SnapshotKey(
        camera_id=match["camera"],
        captured_at=captured_at.replace(tzinfo=UTC),
        image_id=match["image"],
    )
    zone = match["zone"]
    return ProcessedKey(snapshot=snapshot, zone_id=int(zone) if zone else None)
