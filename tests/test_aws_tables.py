"""The zone selections and current counts stores on DynamoDB (moto)."""

from datetime import UTC, datetime, timedelta

import pytest

from occupancy_site import aws
from pipeline.counts import ZoneCount, current_counts
from pipeline.dynamo import DynamoCurrentCounts
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    aws_credentials,
    on_aws,
    provisioned,
)
from tests.helpers import WHOLE_PICTURE, make_camera
from tests.test_counting import LEFT, RIGHT
from zones.dynamo import DynamoZoneSelections
from zones.models import Zone
from zones.selections import mirror_all, zone_selections

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 3, 12, 0, 0, 250_000, tzinfo=UTC)


def item(table: str, key: dict) -> dict | None:
    return aws.resource("dynamodb").Table(table).get_item(Key=key).get("Item")


def record_dynamodb_calls() -> list[tuple[str, str]]:
    """Each DynamoDB operation made from now on, with its table."""
    calls = []

    def record(model, params, **kwargs) -> None:
        tables = params.get("RequestItems") or [params.get("TableName")]
        calls.extend((model.name, table) for table in tables)

    client = aws.resource("dynamodb").meta.client
    client.meta.events.register("before-parameter-build.dynamodb.*", record)
    return calls


def count(zone_id: int, people: int, at: datetime, image: str = "a" * 24):
    return ZoneCount(
        camera_id="lobby",
        zone_id=zone_id,
        zone_name=f"Zone {zone_id}",
        people=people,
        captured_at=at,
        image_id=image,
        detector="rekognition",
    )


def test_it_mirrors_a_cameras_zones_to_one_dynamodb_item(provisioned):  # noqa: F811
    camera, _ = make_camera("lobby")
    west = Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    east = Zone.objects.create(camera=camera, name="East", polygon=RIGHT)

    stored = item(NAMES["ZONE_SELECTIONS_TABLE"], {"camera_id": "lobby"})

    assert isinstance(zone_selections()._store, DynamoZoneSelections)
    assert [zone["name"] for zone in stored["zones"]] == ["West", "East"]
    zone_selections().forget()
    shapes = zone_selections().get("lobby")
    assert shapes == [west.shape(), east.shape()]
    assert shapes[0].polygon == ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))


def test_it_removes_a_deleted_cameras_item(provisioned):  # noqa: F811
    camera, _ = make_camera("lobby")
    Zone.objects.create(camera=camera, name="Everywhere", polygon=WHOLE_PICTURE)

    camera.delete()

    assert item(NAMES["ZONE_SELECTIONS_TABLE"], {"camera_id": "lobby"}) is None


def test_sync_zones_repairs_the_dynamodb_table(provisioned):  # noqa: F811
    camera, _ = make_camera("lobby")
    Zone.objects.create(camera=camera, name="Everywhere", polygon=WHOLE_PICTURE)
    store = DynamoZoneSelections(NAMES["ZONE_SELECTIONS_TABLE"])
    store.put("gone", [])
    store.delete("lobby")

    written = mirror_all()

    assert written == 1
    assert store.camera_ids() == {"lobby"}
    assert [zone.name for zone in store.get("lobby")] == ["Everywhere"]


def test_it_keeps_a_count_per_zone_in_dynamodb(provisioned):  # noqa: F811
    counts = current_counts()

    changed = counts.record([count(1, 3, NOON), count(2, 0, NOON)])

    assert isinstance(counts, DynamoCurrentCounts)
    assert changed == 2
    assert counts.for_zones([1, 2, 3]) == {1: count(1, 3, NOON), 2: count(2, 0, NOON)}
    stored = item(NAMES["CURRENT_COUNTS_TABLE"], {"zone_id": 1})
    assert stored["people"] == 3
    assert stored["captured_at"] == "2026-12-03T12:00:00.250000Z"


def test_an_older_capture_never_replaces_a_newer_count(provisioned):  # noqa: F811
    counts = current_counts()
    counts.record([count(1, 3, NOON)])

    changed = counts.record([count(1, 9, NOON - timedelta(microseconds=1))])

    assert changed == 0
    assert counts.for_zones([1])[1].people == 3


def test_the_same_capture_again_changes_nothing(provisioned):  # noqa: F811
    counts = current_counts()
    counts.record([count(1, 3, NOON)])

    changed = counts.record([count(1, 5, NOON, image="b" * 24)])

    assert changed == 0
    assert counts.for_zones([1])[1] == count(1, 3, NOON)


def test_a_newer_capture_replaces_the_count(provisioned):  # noqa: F811
    counts = current_counts()
    counts.record([count(1, 3, NOON)])

    changed = counts.record([count(1, 0, NOON + timedelta(seconds=5))])

    assert changed == 1
    assert counts.for_zones([1])[1].people == 0


def test_it_reads_many_zones_with_batch_gets_and_never_a_scan(
    provisioned,  # noqa: F811
):
    counts = current_counts()
    counts.record([count(zone_id, zone_id % 7, NOON) for zone_id in range(1, 251)])
    calls = record_dynamodb_calls()

    found = counts.for_zones(range(1, 261))

    assert len(found) == 250 and found[250].people == 250 % 7
    assert calls == [("BatchGetItem", NAMES["CURRENT_COUNTS_TABLE"])] * 3


def test_the_occupancy_api_reads_counts_from_dynamodb(
    provisioned,  # noqa: F811
    client_for,
):
    camera, _ = make_camera("lobby")
    zone = Zone.objects.create(camera=camera, name="Hall", polygon=WHOLE_PICTURE)
    at = datetime.now(UTC).replace(microsecond=0)
    current_counts().record([count(zone.pk, 4, at)])
    calls = record_dynamodb_calls()

    body = client_for().get("/api/v1/occupancy/").json()

    assert body["total"]["people"] == 4
    assert body["zones"][0]["captured_at"] == at.isoformat().replace("+00:00", "Z")
    counts_table = NAMES["CURRENT_COUNTS_TABLE"]
    assert [call for call in calls if call[1] == counts_table] == [
        ("BatchGetItem", counts_table)
    ]
    assert not [call for call in calls if call[0] == "Scan"]
