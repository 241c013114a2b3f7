"""A hand-built data lake whose usual figures are known.

Site time zone Europe/Berlin; the history is computed at NOW, 12:20 local
time on Thursday 2 April 2026, so the hour-of-day window is the seven days
from 26 March 11:00 to 2 April 12:00 local time (10:00 UTC both). Europe
switched to summer time on Sunday 29 March at 01:00 UTC: 09:00 local is
08:00 UTC before that and 07:00 UTC after.

Zone 1, "Reading room", seen by camera "library" at :00 and :30:
  09h: 0..9 over five days, two each side of the change
       -> average 4.5, 10 samples, low 0, high 8 (nearest rank)
  01h, 02h, 03h: 2, 6, 4, one each, around the change (no 02h that night)
  closed at noon: no record at 12h
Zone 2, "Tables", seen by camera "cafeteria" at :15 and :45:
  09h: 1, 3 -> 2.0; 12h: 10, 20, 30 -> 20.0, low 10, high 30
Records worth 100 people lie outside the window: one a week earlier, one
earlier on the window's first day, one in the current hour.
Two unreadable lines: a cut-off JSON object and a time that is no time.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import boto3
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from moto import mock_aws

from occupancy_site import aws
from pipeline.counts import ZoneCount
from pipeline.datalake import append
from pipeline.keys import SnapshotKey

TIME_ZONE = "Europe/Berlin"
NOW = datetime(2026, 4, 2, 10, 20, tzinfo=UTC)
READING, TABLES = 1, 2
NAMES = {READING: ("library", "Reading room"), TABLES: ("cafeteria", "Tables")}

READING_RECORDS = [
    ("2026-03-27T08:00:00Z", 0),
    ("2026-03-27T08:30:00Z", 1),
    ("2026-03-28T08:00:00Z", 2),
    ("2026-03-28T08:30:00Z", 3),
    ("2026-03-30T07:00:00Z", 4),
    ("2026-03-30T07:30:00Z", 5),
    ("2026-03-31T07:00:00Z", 6),
    ("2026-03-31T07:30:00Z", 7),
    ("2026-04-01T07:00:00Z", 8),
    ("2026-04-01T07:30:00Z", 9),
    ("2026-03-28T01:30:00Z", 6),  # 02:30 winter time
    ("2026-03-29T00:30:00Z", 2),  # 01:30 winter time
    ("2026-03-29T01:30:00Z", 4),  # 03:30 summer time, an hour later
]
TABLES_RECORDS = [
    ("2026-03-30T07:15:00Z", 1),
    ("2026-03-30T07:45:00Z", 3),
    ("2026-03-31T10:15:00Z", 10),
    ("2026-03-31T10:45:00Z", 20),
    ("2026-04-01T10:15:00Z", 30),
]
OUTSIDE_RECORDS = [
    (READING, "2026-03-20T08:00:00Z"),  # a week before the window
    (READING, "2026-03-26T08:00:00Z"),  # its first day, before it starts
    (TABLES, "2026-04-02T10:05:00Z"),  # the current hour
]
UNREADABLE = (
    '{"camera_id":"library","zone_id":1,"zone_name":"Reading room","peo\n'
    '{"camera_id":"library","zone_id":1,"zone_name":"Reading room",'
    '"people":3,"captured_at":"yesterday","image_id":"0","detector":"x"}\n'
)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def write_count(zone_id: int, people: int, at: str) -> None:
    """One counted image of one zone, written by the pipeline's own writer."""
    camera, name = NAMES[zone_id]
    captured_at = parse(at)
    image_id = hashlib.sha256(f"{camera}{at}".encode()).hexdigest()[:24]
    count = ZoneCount(camera, zone_id, name, people, captured_at, image_id, "test")
    append(SnapshotKey(camera, captured_at, image_id), [count])


def write_raw(day: str, name: str, text: str) -> None:
    storages["data_lake"].save(f"occupancy/dt={day}/{name}", ContentFile(text.encode()))


def build_known_lake() -> None:
    for at, people in READING_RECORDS:
        write_count(READING, people, at)
    for at, people in TABLES_RECORDS:
        write_count(TABLES, people, at)
    for zone_id, at in OUTSIDE_RECORDS:
        write_count(zone_id, 100, at)
    write_raw("2026-03-31", "library-unreadable.jsonl", UNREADABLE)


@contextmanager
def history_on_aws(settings, monkeypatch, workgroup: str) -> Iterator[None]:
    """The aws backend on moto: its history table, and Athena with only
    the workgroups the test creates, so a query in `workgroup` fails
    unless the test makes it."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws.forget_clients()
    settings.OCCUPANCY_BACKEND = "aws"
    settings.HISTORICAL_DATA_TABLE = "history-test"
    settings.ATHENA_WORKGROUP = workgroup
    with mock_aws():
        boto3.client("dynamodb", region_name="eu-west-1").create_table(
            TableName="history-test",
            KeySchema=[
                {"AttributeName": "scope", "KeyType": "HASH"},
                {"AttributeName": "slot", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "scope", "AttributeType": "S"},
                {"AttributeName": "slot", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield
    aws.forget_clients()
