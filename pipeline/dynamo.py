"""The current counts store on DynamoDB: one item per zone.

A count is written with a condition, so that DynamoDB itself keeps the
latest capture: an older capture, or the same one delivered again, fails
the condition and changes nothing, however the writes interleave.
"""

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from occupancy_site import aws
from pipeline.counts import ZoneCount

logger = logging.getLogger(__name__)

# Fixed width, so that comparing two strings compares the two times.
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
BATCH_GET_LIMIT = 100
UNPROCESSED_RETRIES = 5
NEWER_CAPTURE = "attribute_not_exists(zone_id) OR captured_at < :captured_at"


class DynamoCurrentCounts:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def record(self, counts: Iterable[ZoneCount]) -> int:
        table = aws.resource("dynamodb").Table(self.table_name)
        return sum(self._put(table, count) for count in counts)

    def for_zones(self, zone_ids: Iterable[int]) -> dict[int, ZoneCount]:
        wanted = sorted({int(zone_id) for zone_id in zone_ids})
        found: dict[int, ZoneCount] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            chunk = wanted[start : start + BATCH_GET_LIMIT]
            for item in self._batch_get(chunk):
                count = _decode(item)
                found[count.zone_id] = count
        return found

    def _put(self, table: Any, count: ZoneCount) -> bool:
        item = _encode(count)
        try:
            table.put_item(
                Item=item,
                ConditionExpression=NEWER_CAPTURE,
                ExpressionAttributeValues={":captured_at": item["captured_at"]},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _batch_get(self, zone_ids: list[int]) -> list[dict[str, Any]]:
        dynamodb = aws.resource("dynamodb")
        request = {self.table_name: {"Keys": [{"zone_id": z} for z in zone_ids]}}
        items: list[dict[str, Any]] = []
        for attempt in range(UNPROCESSED_RETRIES + 1):
            reply = dynamodb.batch_get_item(RequestItems=request)
            items.extend(reply["Responses"].get(self.table_name, []))
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                return items
            # DynamoDB hands back what it could not read under load.
            time.sleep(0.05 * 2**attempt)
        logger.warning(
            "DynamoDB left %d zones of %s unread",
            len(request[self.table_name]["Keys"]),
            self.table_name,
        )
        return items


def _encode(count: ZoneCount) -> dict[str, Any]:
    return {
        "zone_id": count.zone_id,
        "camera_id": count.camera_id,
        "zone_name": count.zone_name,
        "people": count.people,
        "captured_at": count.captured_at.astimezone(UTC).strftime(STAMP_FORMAT),
        "image_id": count.image_id,
        "detector": count.detector,
        "recent": list(count.recent),
        "fingerprint": count.fingerprint,
        "since_detection": count.since_detection,
        "updated": datetime.now(UTC).strftime(STAMP_FORMAT),
    }


def _decode(item: dict[str, Any]) -> ZoneCount:
    captured_at = datetime.strptime(item["captured_at"], STAMP_FORMAT)
    return ZoneCount(
        camera_id=str(item["camera_id"]),
        zone_id=int(item["zone_id"]),
        zone_name=str(item["zone_name"]),
        people=int(item["people"]),
        captured_at=captured_at.replace(tzinfo=UTC),
        image_id=str(item["image_id"]),
        detector=str(item["detector"]),
        # Items written before these attributes existed lack them.
        recent=tuple(int(people) for people in item.get("recent", [])),
        fingerprint=bytes(getattr(item.get("fingerprint"), "value", b"")),
        since_detection=int(item.get("since_detection", 0)),
    )
