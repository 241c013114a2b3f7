"""The zone selections store on DynamoDB: one item per camera.

Each item holds the camera's active zones as a list of maps, so that the
crop and count stages read a camera's polygons with one GetItem.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from occupancy_site import aws
from zones.geometry import ZoneShape


class DynamoZoneSelections:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def get(self, camera_id: str) -> list[ZoneShape]:
        reply = self._table().get_item(Key={"camera_id": camera_id})
        item = reply.get("Item")
        if item is None:
            return []
        return [ZoneShape.from_dict(zone) for zone in item.get("zones", [])]

    def put(self, camera_id: str, zones: list[ZoneShape]) -> None:
        item = {
            "camera_id": camera_id,
            "zones": [_encode(zone) for zone in zones],
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._table().put_item(Item=item)

    def camera_ids(self) -> set[str]:
        # A scan, but only `manage.py sync_zones` asks: never a request.
        table = self._table()
        found: set[str] = set()
        arguments: dict[str, Any] = {"ProjectionExpression": "camera_id"}
        while True:
            page = table.scan(**arguments)
            found.update(item["camera_id"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, camera_id: str) -> None:
        self._table().delete_item(Key={"camera_id": camera_id})

    def _table(self) -> Any:
        return aws.resource("dynamodb").Table(self.table_name)


def _encode(zone: ZoneShape) -> dict[str, Any]:
    # DynamoDB numbers are decimals; going through repr keeps each float's
    # shortest exact spelling instead of its binary expansion.
    polygon = [[Decimal(repr(x)), Decimal(repr(y))] for x, y in zone.polygon]
    return {"id": zone.id, "name": zone.name, "polygon": polygon}
