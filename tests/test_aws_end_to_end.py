"""The whole service on the aws backend, on moto, in-process and over HTTP.

The resources are provisioned by the command, a camera uploads real
snapshots through a presigned POST, S3's ObjectCreated events (routed to
SQS, since Lambda cannot run here) are handed to the Lambda handlers as
Lambda would hand them, and the counts are read back through the API.
"""

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.management import call_command

from occupancy_site import aws
from pipeline.handlers import count_handler, crop_handler
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    aws_credentials,
    moto_server,
    on_aws,
    rekognition,
)
from tests.helpers import image_bytes, make_camera
from tests.test_counting import LEFT, RIGHT
from zones.models import Zone

pytestmark = pytest.mark.django_db

IMAGE_CACHE = NAMES["IMAGE_CACHE_BUCKET"]
PROCESSED = NAMES["PROCESSED_IMAGES_BUCKET"]
DATA_LAKE = NAMES["DATA_LAKE_BUCKET"]
HANDLERS = {IMAGE_CACHE: crop_handler, PROCESSED: count_handler}
# The fields every data lake record carries, which the Glue table reads.
AGREED = (
    "camera_id",
    "zone_id",
    "zone_name",
    "people",
    "captured_at",
    "image_id",
    "detector",
)


@pytest.fixture(params=["in-process", "server"])
def deployed(request, rekognition):  # noqa: F811
    """Provisioned resources on moto, in this process or on its server."""
    backend = "on_aws" if request.param == "in-process" else "moto_server"
    request.getfixturevalue(backend)
    call_command("provision_aws", stdout=io.StringIO())
    return Events()


class Events:
    """S3 notifications of the two image buckets, queued for delivery."""

    def __init__(self) -> None:
        self.sqs = aws.client("sqs")
        self.queues = {bucket: self._subscribe(bucket) for bucket in HANDLERS}
        self.delivered: list[tuple[str, dict]] = []

    def _subscribe(self, bucket: str) -> str:
        url = self.sqs.create_queue(QueueName=f"{bucket}-events")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )
        rule = {"Name": "suffix", "Value": ".jpg"}
        aws.client("s3").put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": attributes["Attributes"]["QueueArn"],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [rule]}},
                    }
                ]
            },
        )
        return url

    def take(self, bucket: str) -> list[dict]:
        events = []
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=self.queues[bucket], MaxNumberOfMessages=10
            )
            messages = reply.get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queues[bucket],
                    ReceiptHandle=message["ReceiptHandle"],
                )

    def deliver(self) -> list[dict]:
        """Hand every queued event to its handler until none is left."""
        summaries = []
        while True:
            batch = [(b, e) for b in HANDLERS for e in self.take(b)]
            if not batch:
                return summaries
            for bucket, event in batch:
                summaries.append(HANDLERS[bucket](event, None))
                self.delivered.append((bucket, event))

    def deliver_again(self) -> list[dict]:
        return [HANDLERS[bucket](event, None) for bucket, event in self.delivered]


def upload(client, token: str, frame: str, captured_at: datetime) -> dict:
    data = image_bytes(frame)
    reply = client.post(
        "/api/v1/uploads/presign",
        {"captured_at": captured_at.isoformat(), "sha256": sha256(data)},
        format="json",
    )
    assert reply.status_code == 200, reply.content
    target = reply.json()
    sent = requests.post(
        target["url"],
        data=target["fields"],
        files={"file": (frame, data, "image/jpeg")},
        timeout=10,
    )
    assert sent.status_code == 204, sent.text
    return target


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keys(bucket: str) -> list[str]:
    reply = aws.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in reply.get("Contents", []))


def lake_lines() -> dict[str, list[dict]]:
    s3 = aws.client("s3")
    found = {}
    for key in keys(DATA_LAKE):
        body = s3.get_object(Bucket=DATA_LAKE, Key=key)["Body"].read()
        found[key] = [json.loads(line) for line in body.splitlines()]
    return found


def zone_people(client) -> dict[str, tuple[int, str]]:
    body = client.get("/api/v1/occupancy/").json()
    return {
        zone["name"]: (zone["people"], zone["captured_at"]) for zone in body["zones"]
    }


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_snapshot_uploaded_to_s3_comes_back_as_counts_through_the_api(
    deployed,
    rekognition,  # noqa: F811
    client_for,
):
    camera, token = make_camera("walkway")
    west = Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    east = Zone.objects.create(camera=camera, name="East", polygon=RIGHT)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    target = upload(client_for(token), token, "vtest_300.jpg", at)
    summaries = deployed.deliver()

    assert {"processed": 1, "failed": 0, "ignored": 0} in summaries
    assert zone_people(client_for()) == {"West": (4, stamp(at)), "East": (2, stamp(at))}
    assert keys(IMAGE_CACHE) == [] and keys(PROCESSED) == []
    [(name, lines)] = lake_lines().items()
    assert name == f"occupancy/dt={at.date()}/walkway-{target['key'][8:-4]}.jsonl"
    assert [{field: line[field] for field in AGREED} for line in lines] == [
        {
            "camera_id": "walkway",
            "zone_id": zone.pk,
            "zone_name": zone.name,
            "people": people,
            "captured_at": stamp(at),
            "image_id": target["image_id"],
            "detector": "rekognition",
        }
        for zone, people in ((west, 4), (east, 2))
    ]
    [sent] = rekognition.requests
    assert sent["Image"]["Bytes"] == image_bytes("vtest_300.jpg")
    assert sent["MinConfidence"] == 25.0
    assert sent["Settings"] == {"GeneralLabels": {"LabelInclusionFilters": ["Person"]}}


def test_a_duplicate_event_or_upload_and_an_older_capture_change_nothing(
    deployed,
    rekognition,  # noqa: F811
    client_for,
):
    camera, token = make_camera("walkway")
    Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    Zone.objects.create(camera=camera, name="East", polygon=RIGHT)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    upload(client_for(token), token, "vtest_300.jpg", at)
    deployed.deliver()
    counts, lake = zone_people(client_for()), lake_lines()

    repeated = deployed.deliver_again()
    upload(client_for(token), token, "vtest_300.jpg", at)
    deployed.deliver()
    upload(client_for(token), token, "vtest_000.jpg", at - timedelta(minutes=4))
    deployed.deliver()

    assert all(summary["failed"] == 0 for summary in repeated)
    assert zone_people(client_for()) == counts
    after = lake_lines()
    assert {key: after[key] for key in lake} == lake
    assert len(after) == 2  # the older capture is history all the same
    assert keys(IMAGE_CACHE) == [] and keys(PROCESSED) == []
