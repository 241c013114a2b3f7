"""The Lambda handlers, given S3 and schedule events the way Lambda gives
them, on the aws backend (moto) with the stages and the real pictures."""

import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from analytics.history import SPACE, historical_data
from analytics.query import COLUMNS
from devices.control_images import save_control_image
from occupancy_site.aws import client as aws_client
from pipeline.counts import current_counts
from pipeline.handlers import (
    count_handler,
    crop_handler,
    history_handler,
    parse_s3_event,
    retention_handler,
)
from pipeline.uploads import accept_snapshot
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    REGION,
    aws_credentials,
    on_aws,
    provisioned,
    rekognition,
)
from tests.helpers import WHOLE_PICTURE, image_bytes, make_camera, stored
from zones.models import Zone

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
IMAGE_CACHE = NAMES["IMAGE_CACHE_BUCKET"]
PROCESSED = NAMES["PROCESSED_IMAGES_BUCKET"]


def created(bucket: str, *keys: str) -> dict:
    """An S3 ObjectCreated notification, keys URL-encoded as S3 sends them."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2026-12-03T12:00:01.250Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "occupancy-dev_pipeline",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key), "size": 1024},
                },
            }
            for key in keys
        ]
    }


@pytest.fixture
def camera(provisioned):  # noqa: F811
    camera, _ = make_camera("lobby")
    Zone.objects.create(camera=camera, name="Everywhere", polygon=WHOLE_PICTURE)
    return camera


def test_a_snapshot_event_with_an_encoded_key_is_cropped(camera):
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    event = created(IMAGE_CACHE, key.name)
    assert "%2F" in event["Records"][0]["s3"]["object"]["key"]

    summary = crop_handler(event, None)

    assert summary == {"processed": 1, "failed": 0, "ignored": 0}
    assert stored("image_cache") == []
    assert stored("processed_images") == [key.name]


def test_a_processed_image_event_is_counted(camera, rekognition):  # noqa: F811
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    crop_handler(created(IMAGE_CACHE, key.name), None)

    summary = count_handler(created(PROCESSED, key.name), None)

    assert summary == {"processed": 1, "failed": 0, "ignored": 0}
    zone = camera.zones.get().pk
    assert current_counts().for_zones([zone])[zone].people == 6
    assert stored("processed_images") == []
    assert len(stored("data_lake")) == 1


def test_the_test_event_s3_sends_first_is_answered_with_nothing(provisioned):  # noqa: F811
    event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-12-03T12:00:00.000Z",
        "Bucket": IMAGE_CACHE,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }

    assert parse_s3_event(event) == []
    assert crop_handler(event, None) == {"processed": 0, "failed": 0, "ignored": 0}


@pytest.mark.parametrize(
    "event",
    [
        None,
        "Records",
        {},
        {"Records": []},
        {"Records": [{"eventSource": "aws:sqs"}]},
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete"}]},
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]},
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": IMAGE_CACHE}, "object": {"key": 7}},
                }
            ]
        },
    ],
)
def test_an_event_it_cannot_read_is_logged_and_ignored(
    provisioned,  # noqa: F811
    caplog,
    event,
):
    with caplog.at_level(logging.WARNING, logger="pipeline.handlers"):
        summary = crop_handler(event, None)

    assert summary == {"processed": 0, "failed": 0, "ignored": 1}
    assert "Ignored an event for the image_cache bucket" in caplog.text


def test_an_object_of_another_bucket_is_left_alone(camera, caplog):
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)

    with caplog.at_level(logging.WARNING, logger="pipeline.handlers"):
        summary = count_handler(created(IMAGE_CACHE, key.name), None)

    assert summary == {"processed": 0, "failed": 0, "ignored": 1}
    assert stored("image_cache") == [key.name]
    assert f"this function serves bucket {PROCESSED}" in caplog.text


def test_a_duplicate_delivery_changes_nothing(camera, rekognition):  # noqa: F811
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    snapshot_event = created(IMAGE_CACHE, key.name)
    crop_handler(snapshot_event, None)
    image_event = created(PROCESSED, key.name)
    count_handler(image_event, None)
    zone = camera.zones.get().pk
    first = current_counts().for_zones([zone])
    [lake] = stored("data_lake")
    written = storages["data_lake"].open(lake).read()

    crop_handler(snapshot_event, None)
    count_handler(image_event, None)

    assert current_counts().for_zones([zone]) == first
    assert stored("data_lake") == [lake]
    assert storages["data_lake"].open(lake).read() == written
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert len(rekognition.requests) == 1


def test_a_failed_count_deletes_the_image_and_is_counted(
    camera, monkeypatch, caplog, capsys
):
    def refuse(response) -> str:
        raise RuntimeError("Rekognition is unreachable")

    from moto.rekognition.responses import RekognitionResponse

    monkeypatch.setattr(RekognitionResponse, "detect_labels", refuse)
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    crop_handler(created(IMAGE_CACHE, key.name), None)

    with caplog.at_level(logging.ERROR, logger="pipeline.handlers"):
        summary = count_handler(created(PROCESSED, key.name), None)

    assert summary == {"processed": 0, "failed": 1, "ignored": 0}
    assert stored("processed_images") == [] and stored("data_lake") == []
    assert current_counts().for_zones([camera.zones.get().pk]) == {}
    assert f"Could not process {key.name} from processed_images" in caplog.text
    metric = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metric["Stage"] == "count" and metric["Failures"] == 1
    namespace = metric["_aws"]["CloudWatchMetrics"][0]["Namespace"]
    assert namespace == "Occupancy"


def test_a_failed_crop_deletes_the_snapshot(camera, settings, caplog):
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    # The processed images bucket is gone: writing the crop fails.
    settings.STORAGES = {
        **settings.STORAGES,
        "processed_images": {
            **settings.STORAGES["processed_images"],
            "OPTIONS": {"bucket_name": "occ-test-no-such-bucket"},
        },
    }

    with caplog.at_level(logging.ERROR, logger="pipeline.handlers"):
        summary = crop_handler(created(IMAGE_CACHE, key.name), None)

    assert summary == {"processed": 0, "failed": 1, "ignored": 0}
    assert stored("image_cache") == []
    assert "Could not process" in caplog.text


def test_a_snapshot_that_is_not_a_picture_is_rejected_and_deleted(camera, caplog):
    name = "lobby/20261203T120000.000000Z-0123456789abcdef01234567.jpg"
    storages["image_cache"].save(name, ContentFile(b"GIF89a not a jpeg"))

    with caplog.at_level(logging.WARNING):
        summary = crop_handler(created(IMAGE_CACHE, name), None)

    assert summary == {"processed": 1, "failed": 0, "ignored": 0}
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert "Rejected snapshot" in caplog.text


def test_the_sweep_deletes_what_a_failure_left_behind(camera, monkeypatch):
    accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    later = timezone.now() + timedelta(minutes=2)
    monkeypatch.setattr("pipeline.retention.timezone.now", lambda: later)

    summary = retention_handler({"detail-type": "Scheduled Event"}, None)

    assert summary == {"expired": 1, "control_images_expired": 0}
    assert stored("image_cache") == []


def test_the_sweep_spares_what_just_arrived(camera):
    accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)

    summary = retention_handler({"detail-type": "Scheduled Event"}, None)

    assert summary == {"expired": 0, "control_images_expired": 0}
    assert len(stored("image_cache")) == 1


def sweep_at(moment: datetime, monkeypatch) -> dict:
    monkeypatch.setattr("pipeline.retention.timezone.now", lambda: moment)
    return retention_handler({"detail-type": "Scheduled Event"}, None)


def last_modified(bucket: str, key: str) -> datetime:
    return aws_client("s3").head_object(Bucket=bucket, Key=key)["LastModified"]


def test_the_sweep_gives_up_on_an_image_a_minute_before_the_limit(camera, monkeypatch):
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    arrived = last_modified(IMAGE_CACHE, key.name)

    # The next sweep comes a minute later: by then it would be too late.
    early = sweep_at(arrived + timedelta(seconds=40), monkeypatch)
    assert stored("image_cache") == [key.name]
    late = sweep_at(arrived + timedelta(seconds=50), monkeypatch)

    assert early["expired"] == 0 and late["expired"] == 1
    assert stored("image_cache") == []


def test_a_processed_image_is_aged_from_its_snapshots_arrival(camera, monkeypatch):
    key = accept_snapshot("lobby", image_bytes("vtest_300.jpg"), NOON)
    arrived = last_modified(IMAGE_CACHE, key.name)
    crop_handler(created(IMAGE_CACHE, key.name), None)

    head = aws_client("s3").head_object(Bucket=PROCESSED, Key=key.name)
    assert datetime.fromisoformat(head["Metadata"]["arrived-at"]) == arrived
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/jpeg"
    summary = sweep_at(arrived + timedelta(seconds=50), monkeypatch)

    assert summary["expired"] == 1
    assert stored("processed_images") == []


def test_an_arrival_later_than_the_write_does_not_keep_an_image(camera, monkeypatch):
    name = "lobby/20261203T120000.000000Z-0123456789abcdef01234567.jpg"
    aws_client("s3").put_object(
        Bucket=PROCESSED,
        Key=name,
        Body=image_bytes("vtest_300.jpg"),
        Metadata={"arrived-at": "2999-01-01T00:00:00+00:00"},
    )
    written = last_modified(PROCESSED, name)

    summary = sweep_at(written + timedelta(seconds=50), monkeypatch)

    assert summary["expired"] == 1
    assert stored("processed_images") == []


def test_the_sweep_deletes_control_images_past_their_retention(
    camera, settings, monkeypatch
):
    settings.CONTROL_IMAGE_RETENTION_DAYS = 7
    name = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    sweep = {"detail-type": "Scheduled Event"}
    arrived = timezone.now()

    monkeypatch.setattr(timezone, "now", lambda: arrived + timedelta(days=6))
    kept = retention_handler(sweep, None)
    assert stored("control_images") == [name]
    monkeypatch.setattr(timezone, "now", lambda: arrived + timedelta(days=8))
    deleted = retention_handler(sweep, None)

    assert kept["control_images_expired"] == 0
    assert deleted["control_images_expired"] == 1
    assert stored("control_images") == []


def queue_athena_answer(rows: list[tuple]) -> None:
    """The rows moto's Athena answers the next query with (it runs no SQL),
    after the header row Athena sends first."""

    def cells(values: tuple) -> dict:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    answer = QueryResults(
        rows=[cells(COLUMNS), *(cells(row) for row in rows)],
        column_info=[{"Name": name, "Type": "varchar"} for name in COLUMNS],
    )
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(answer)


def test_the_daily_schedule_refreshes_the_history_on_athena(provisioned):  # noqa: F811
    queue_athena_answer(
        [
            ("space", None, "9", "6.5", "12", "1", "11"),
            ("space", None, "12", "20.0", "3", "10", "30"),
            ("zone:1", None, "9", "4.5", "10", "0", "8"),
        ]
    )
    event = {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "resources": [
            "arn:aws:events:eu-west-1:123456789012:rule/"
            "occupancy-dev_pipeline-pipeline.handlers.history_handler"
        ],
        "detail": {},
    }

    summary = history_handler(event, None)

    hour, weekday = summary["refreshed"]
    assert hour == {"by": "hour", "figures": 3, "samples": 15, "skipped": 0}
    # The popular-times view is refreshed by the same daily call.
    assert weekday["by"] == "weekday_hour"
    figures = historical_data().for_scope(SPACE, "hour")
    assert [(f.slot, f.average, f.samples) for f in figures] == [
        ("h09", 6.5, 12),
        ("h12", 20.0, 3),
    ]
