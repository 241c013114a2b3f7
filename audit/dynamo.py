"""The image audit on DynamoDB, for the aws backend.

One item per event: the image id is the partition key and the time with
the stage the sort key, so an image's life reads in order. The table
sits beside the current counts table, named after it, so a deployment
needs no new name. The admin's daily look is a scan filtered by time;
each item carries an `expires` time a week on, for DynamoDB's TTL.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from audit.store import Event
from occupancy_site import aws

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
KEEP_RECORDS = timedelta(days=7)
# provision_aws turns DynamoDB's TTL on for this attribute.
EXPIRES_ATTRIBUTE = "expires"


def audit_table_for(current_counts_table: str) -> str:
    return f"{current_counts_table}-audit"


class DynamoImageAudit:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def add(self, event: Event) -> None:
        at = event.at.astimezone(UTC)
        stamp = at.strftime(STAMP_FORMAT)
        table = aws.resource("dynamodb").Table(self.table_name)
        table.put_item(
            Item={
                "image_id": event.image_id,
                "moment": f"{stamp}#{event.stage}",
                "camera_id": event.camera_id,
                "stage": event.stage,
                "at": stamp,
                "outcome": event.outcome,
                EXPIRES_ATTRIBUTE: int((at + KEEP_RECORDS).timestamp()),
            }
        )

    def since(self, moment: datetime) -> list[Event]:
        table = aws.resource("dynamodb").Table(self.table_name)
        start = moment.astimezone(UTC).strftime(STAMP_FORMAT)
        scan: dict[str, Any] = {"FilterExpression": Attr("at").gte(start)}
        events = []
        while True:
            page = table.scan(**scan)
            events.extend(_decode(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return sorted(events, key=lambda event: event.at)
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _decode(item: dict[str, Any]) -> Event:
    at = datetime.strptime(item["at"], STAMP_FORMAT).replace(tzinfo=UTC)
    return Event(
        camera_id=str(item["camera_id"]),
        image_id=str(item["image_id"]),
        stage=str(item["stage"]),
        at=at,
        outcome=str(item.get("outcome", "")),
    )
