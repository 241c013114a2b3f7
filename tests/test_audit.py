"""The privacy audit: every snapshot's life, and the limit it proves."""

import errno
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from audit.dynamo import audit_table_for
from audit.models import ImageEvent
from audit.store import (
    KEEP_LIMIT,
    Event,
    RelationalImageAudit,
    image_audit,
    longest_lives,
)
from occupancy_site import aws
from pipeline.keys import image_id_for
from pipeline.retention import expire_images
from pipeline.worker import Worker
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    aws_credentials,
    on_aws,
    provisioned,
)
from tests.helpers import image_bytes, stored
from tests.test_upload import upload


def stages_of(image_id: str) -> list[tuple[str, str]]:
    events = ImageEvent.objects.filter(image_id=image_id).order_by("at", "pk")
    return [(event.stage, event.outcome) for event in events]


def test_it_records_a_snapshots_life_without_its_pixels(lobby, client_for):
    _, token = lobby
    data = image_bytes("vtest_150.jpg")

    response = upload(client_for(token), data)
    Worker().run_once()

    image_id = response.json()["image_id"]
    stages = stages_of(image_id)
    assert [stage for stage, _ in stages] == ["received", "crop", "count"]
    assert stages[0][1] == f"{len(data)} bytes"
    assert stages[2][1].endswith("people in 1 zone(s)")
    for event in ImageEvent.objects.all():
        assert event.camera_id == "lobby"
        assert all(len(str(value)) <= 200 for value in vars(event).values())
    [life] = longest_lives(timezone.now())
    assert life.image_id == image_id and life.kept < KEEP_LIMIT


class Hanging:
    name = "hanging"

    def __init__(self) -> None:
        self.released = threading.Event()

    def detect(self, image: bytes) -> list:
        self.released.wait(30)
        return []


def crop_raises(monkeypatch, settings):
    def fail(key, data):
        raise RuntimeError("the crop stage broke")

    monkeypatch.setattr("pipeline.crop._process", fail)


def count_raises(monkeypatch, settings):
    def fail(key, data):
        raise RuntimeError("the count stage broke")

    monkeypatch.setattr("pipeline.count._count", fail)


def store_refuses(monkeypatch, settings):
    def refuse(name, content):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(storages["processed_images"], "_save", refuse)


def data_lake_refuses(monkeypatch, settings):
    def refuse(name, content):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storages["data_lake"], "_save", refuse)


def image_cache_refuses(monkeypatch, settings):
    def refuse(name, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storages["image_cache"], "_save", refuse)


def detector_hangs(monkeypatch, settings):
    settings.DETECTOR_TIMEOUT = 0.5
    settings.DETECT_EVERY = 1
    hanging = Hanging()
    monkeypatch.setattr("pipeline.count.get_detector", lambda: hanging)
    return hanging


@pytest.mark.parametrize(
    "fault, last_stage",
    [
        (crop_raises, "expired"),
        (count_raises, "expired"),
        (store_refuses, "expired"),
        (data_lake_refuses, "expired"),
        (detector_hangs, "count"),
        # Refused on arrival: nothing was kept, so there is no life.
        (image_cache_refuses, None),
    ],
)
def test_an_image_cannot_outlive_the_limit_whatever_fails(
    lobby, client_for, monkeypatch, settings, fault, last_stage
):
    hanging = fault(monkeypatch, settings)
    data = image_bytes("vtest_300.jpg")
    response = upload(client_for(lobby[1]), data)
    image_id = image_id_for(data)
    worker = Worker()

    worker.run_once()
    worker.run_once()
    # The sweep as it runs 91 seconds later, while the fault lasts.
    swept = expire_images(now=timezone.now() + timedelta(seconds=91))

    if hanging:
        hanging.released.set()
    assert stored("image_cache") == [] and stored("processed_images") == []
    stages = stages_of(image_id)
    if last_stage is None:
        assert response.status_code == 503 and stages == [] and swept == []
        assert longest_lives(timezone.now()) == []
        return
    assert stages[-1][0] == last_stage
    if last_stage == "expired":
        assert len(swept) == 1
        assert "unprocessed after 9" in stages[-1][1]
    else:
        assert stages[-1][1] == "not counted"
    [life] = longest_lives(timezone.now())
    assert life.last_stage == last_stage


def test_an_image_that_never_left_counts_until_now(db):
    audit = RelationalImageAudit()
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    audit.add(Event("lobby", "a" * 24, "received", now - timedelta(minutes=3)))
    audit.add(Event("lobby", "b" * 24, "received", now - timedelta(seconds=40)))
    audit.add(Event("lobby", "b" * 24, "count", now - timedelta(seconds=39)))

    [first, second] = longest_lives(now)

    assert first.image_id == "a" * 24 and first.kept == timedelta(minutes=3)
    assert second.kept == timedelta(seconds=1)


def add_life(image_id: str, seconds: int, last_stage: str) -> None:
    now = timezone.now()
    audit = RelationalImageAudit()
    audit.add(Event("lobby", image_id, "received", now - timedelta(seconds=seconds)))
    audit.add(Event("lobby", image_id, last_stage, now, "deleted"))


def test_the_admin_shows_the_longest_kept_image_and_flags_the_limit(admin_user, client):
    add_life("a" * 24, 20, "count")
    add_life("b" * 24, 150, "expired")
    client.force_login(admin_user)

    page = client.get("/admin/audit/imageevent/").content.decode()

    assert 'id="longest-kept">150.0 s' in page
    assert 'id="over-limit">1 image' in page and "b" * 24 in page


def test_the_admin_says_when_every_image_kept_the_limit(admin_user, client):
    add_life("a" * 24, 20, "count")
    client.force_login(admin_user)

    page = client.get("/admin/audit/imageevent/").content.decode()

    assert 'id="longest-kept">20.0 s' in page
    assert 'id="within-limit"' in page and "over-limit" not in page


def test_the_audit_cannot_be_edited_in_the_admin(admin_user, client):
    add_life("a" * 24, 20, "count")
    client.force_login(admin_user)
    event = ImageEvent.objects.first()

    response = client.post(f"/admin/audit/imageevent/{event.pk}/delete/", {"post": 1})

    assert response.status_code == 403
    assert ImageEvent.objects.count() == 2


def test_the_audit_reaches_dynamodb_on_aws(db, provisioned, settings):  # noqa: F811
    now = timezone.now()
    audit = image_audit()

    audit.add(Event("lobby", "c" * 24, "received", now - timedelta(seconds=30)))
    audit.add(Event("lobby", "c" * 24, "expired", now, "deleted after 91 s"))

    [life] = longest_lives(now)
    assert life.image_id == "c" * 24 and life.kept == timedelta(seconds=30)
    assert life.last_stage == "expired"
    assert ImageEvent.objects.count() == 0


def test_the_audit_table_is_provisioned_beside_the_counts(db, provisioned):  # noqa: F811
    name = audit_table_for(NAMES["CURRENT_COUNTS_TABLE"])

    table = aws.client("dynamodb").describe_table(TableName=name)["Table"]

    keys = [(key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]]
    assert keys == [("image_id", "HASH"), ("moment", "RANGE")]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
