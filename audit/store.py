"""The life of every snapshot: received, processed, deleted, and when.

Nothing of the picture is kept, only the camera, the image id (a digest
of its bytes), the stage, the time and a short outcome. Recording never
stops a stage: an image must be deleted on time even when the audit
store cannot be written, so a failed write is logged instead.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

# No image may be kept longer than this after it arrived.
KEEP_LIMIT = timedelta(minutes=2)
OUTCOME_LENGTH = 200


@dataclass(frozen=True)
class Event:
    camera_id: str
    image_id: str
    stage: str
    at: datetime
    outcome: str = ""


@dataclass(frozen=True)
class Life:
    camera_id: str
    image_id: str
    first: datetime
    last: datetime
    last_stage: str

    @property
    def kept(self) -> timedelta:
        return self.last - self.first


class ImageAudit(Protocol):
    def add(self, event: Event) -> None: ...

    def since(self, moment: datetime) -> list[Event]: ...


class RelationalImageAudit:
    def add(self, event: Event) -> None:
        from audit.models import ImageEvent

        ImageEvent.objects.create(
            camera_id=event.camera_id,
            image_id=event.image_id,
            stage=event.stage,
            at=event.at,
            outcome=event.outcome,
        )

    def since(self, moment: datetime) -> list[Event]:
        from audit.models import ImageEvent

        rows = ImageEvent.objects.filter(at__gte=moment).order_by("at")
        return [
            Event(row.camera_id, row.image_id, row.stage, row.at, row.outcome)
            for row in rows
        ]


def image_audit() -> ImageAudit:
    if settings.OCCUPANCY_BACKEND == "aws":
        from audit.dynamo import DynamoImageAudit, audit_table_for

        return DynamoImageAudit(audit_table_for(settings.CURRENT_COUNTS_TABLE))
    return RelationalImageAudit()


def record(camera_id: str, image_id: str, stage: str, outcome: str = "") -> None:
    """Note that an image reached a stage now."""
    event = Event(camera_id, image_id, stage, timezone.now(), outcome[:OUTCOME_LENGTH])
    try:
        image_audit().add(event)
    except Exception:
        logger.exception(
            "Could not record %s of image %s of camera %s", stage, image_id, camera_id
        )


def lives(events: Iterable[Event], now: datetime) -> list[Life]:
    """Each image's span from its first to its last event.

    An image whose only event is its arrival is still held somewhere:
    its span runs until now.
    """
    by_image: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_image[event.image_id].append(event)
    found = []
    for image_id, seen in by_image.items():
        seen.sort(key=lambda event: event.at)
        last = seen[-1]
        end = now if last.stage == "received" else last.at
        found.append(Life(last.camera_id, image_id, seen[0].at, end, last.stage))
    return sorted(found, key=lambda life: life.kept, reverse=True)


def longest_lives(now: datetime, window: timedelta = timedelta(days=1)) -> list[Life]:
    """The images of the window, the longest kept first."""
    return lives(image_audit().since(now - window), now)
