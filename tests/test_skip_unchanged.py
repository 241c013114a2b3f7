"""Snapshots that show what the detector saw last keep its counts.

A camera over a still scene sends the same picture with a little noise
each time. Those snapshots are counted without the detector, through a
thumbnail comparison, and the detector still runs on at least every
DETECT_EVERY-th snapshot. Real frames, the real detector.
"""

import io
from datetime import UTC, datetime, timedelta

import numpy
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image
from rest_framework.test import APIClient

import pipeline.count
from devices.health import record_contact
from occupancy_site import aws
from pipeline.count import count_processed
from pipeline.detectors import get_detector
from pipeline.models import CurrentCount
from pipeline.unchanged import CELLS, DIGEST_BYTES, changed_share, fingerprint
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    aws_credentials,
    on_aws,
    provisioned,
    rekognition,
)
from tests.helpers import WHOLE_PICTURE, image_bytes, make_camera, stored
from tests.pipeline_helpers import process
from tests.test_counting import LEFT, RIGHT
from tests.test_idempotency import data_lake_lines
from zones.geometry import ZoneShape
from zones.models import Zone

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def retaken(name: str, seed: int, brighter: int = 0) -> bytes:
    """The picture as a camera would send it again: with sensor noise,
    maybe another exposure, compressed afresh."""
    pixels = numpy.asarray(Image.open(io.BytesIO(image_bytes(name))), numpy.float32)
    noise = numpy.random.default_rng(seed).normal(0, 3, pixels.shape)
    again = numpy.clip(pixels + noise + brighter, 0, 255).astype(numpy.uint8)
    out = io.BytesIO()
    Image.fromarray(again).save(out, format="JPEG", quality=85)
    return out.getvalue()


class CountingCalls:
    """The real detector, counting its calls."""

    def __init__(self) -> None:
        self.detector = get_detector()
        self.name = self.detector.name
        self.calls = 0

    def detect(self, image: bytes):
        self.calls += 1
        return self.detector.detect(image)


@pytest.fixture
def detector(monkeypatch):
    counting = CountingCalls()
    monkeypatch.setattr(pipeline.count, "get_detector", lambda: counting)
    return counting


@pytest.fixture
def walkway(db):
    camera, _ = make_camera("walkway")
    Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    Zone.objects.create(camera=camera, name="East", polygon=RIGHT)
    return camera


def test_it_keeps_the_count_of_an_unchanged_snapshot_without_the_detector(
    lobby, detector
):
    [first] = process("lobby", retaken("vtest_300.jpg", seed=1), NOON)

    [again] = process("lobby", retaken("vtest_300.jpg", seed=2), NOON + MINUTE)

    assert detector.calls == 1
    assert first.people == again.people == 6
    assert (first.detected, again.detected) == (True, False)
    assert again.image_id != first.image_id
    stored_count = CurrentCount.objects.get()
    assert stored_count.captured_at == NOON + MINUTE
    assert stored_count.image_id == again.image_id
    assert stored_count.people == 6 and stored_count.since_detection == 1
    lines = sorted(data_lake_lines(), key=lambda line: line["captured_at"])
    assert [line["detected"] for line in lines] == [True, False]
    assert [line["people"] for line in lines] == [6, 6]
    assert lines[1]["captured_at"] == "2026-12-03T12:01:00Z"
    assert lines[1]["detector"] == "ssdlite-mobilenetv2+tiles2x2"
    assert stored("processed_images") == []


def test_a_kept_count_is_fresh_in_the_api(lobby, detector):
    camera, _ = lobby
    now = datetime.now(UTC).replace(microsecond=0)
    record_contact(camera)
    process("lobby", retaken("vtest_450.jpg", seed=1), now - 3 * MINUTE)
    process("lobby", retaken("vtest_450.jpg", seed=2), now - MINUTE)

    [zone] = APIClient().get("/api/v1/occupancy/").json()["zones"]

    assert detector.calls == 1
    assert zone["people"] == 3 and zone["stale"] is False
    assert zone["captured_at"] == (now - MINUTE).isoformat().replace("+00:00", "Z")


def test_a_change_of_brightness_alone_keeps_the_count(lobby, detector):
    process("lobby", retaken("vtest_450.jpg", seed=1), NOON)

    [again] = process(
        "lobby", retaken("vtest_450.jpg", seed=2, brighter=12), NOON + MINUTE
    )

    assert detector.calls == 1 and again.people == 3 and not again.detected


def test_people_moving_make_the_detector_run_again(lobby, detector):
    process("lobby", image_bytes("vtest_300.jpg"), NOON)

    [moved] = process("lobby", image_bytes("vtest_450.jpg"), NOON + MINUTE)

    assert detector.calls == 2
    assert moved.detected and moved.people == 3
    assert CurrentCount.objects.get().people == 3


def test_the_detector_runs_on_at_least_every_nth_snapshot(lobby, detector, settings):
    settings.DETECT_EVERY = 3

    counts = [
        process("lobby", retaken("vtest_300.jpg", seed=n), NOON + n * MINUTE)[0]
        for n in range(7)
    ]

    assert detector.calls == 3
    assert [count.detected for count in counts] == [True, False, False] * 2 + [True]
    assert [count.since_detection for count in counts] == [0, 1, 2, 0, 1, 2, 0]


def test_detect_every_one_runs_the_detector_on_every_snapshot(
    lobby, detector, settings
):
    settings.DETECT_EVERY = 1

    for n in range(3):
        process("lobby", retaken("vtest_300.jpg", seed=n), NOON + n * MINUTE)

    assert detector.calls == 3
    assert all(line["detected"] for line in data_lake_lines())
    assert bytes(CurrentCount.objects.get().fingerprint) == b""


def test_a_redrawn_zone_is_counted_afresh(lobby, detector):
    camera, _ = lobby
    process("lobby", retaken("vtest_300.jpg", seed=1), NOON)
    zone = Zone.objects.get(camera=camera)
    zone.polygon = LEFT
    zone.save()

    [again] = process("lobby", retaken("vtest_300.jpg", seed=2), NOON + MINUTE)

    assert detector.calls == 2
    # Four of the six people walk on the left half.
    assert again.detected and again.people == 4


def test_with_zone_crops_each_zone_keeps_its_count(walkway, detector, settings):
    settings.COUNT_STRATEGY = "crop"
    first = process("walkway", retaken("vtest_300.jpg", seed=1), NOON)

    again = process("walkway", retaken("vtest_300.jpg", seed=2), NOON + MINUTE)

    assert detector.calls == 2
    assert {c.zone_name: c.people for c in first} == {"West": 4, "East": 2}
    assert {c.zone_name: c.people for c in again} == {"West": 4, "East": 2}
    assert not any(count.detected for count in again)


def test_a_zone_added_since_the_last_detection_makes_it_run(walkway, detector):
    process("walkway", retaken("vtest_300.jpg", seed=1), NOON)
    Zone.objects.create(
        camera=walkway, name="Path", polygon=[[0, 0.3], [1, 0.3], [1, 0.6], [0, 0.6]]
    )

    again = process("walkway", retaken("vtest_300.jpg", seed=2), NOON + MINUTE)

    assert detector.calls == 2
    assert {c.zone_name: c.people for c in again} == {
        "West": 4,
        "East": 2,
        "Path": 6,
    }


def test_counting_a_kept_snapshot_again_writes_the_same_lines(lobby, detector):
    process("lobby", retaken("vtest_300.jpg", seed=1), NOON)
    data = retaken("vtest_300.jpg", seed=2)
    [kept] = process("lobby", data, NOON + MINUTE)
    before = data_lake_lines()

    [retried] = process("lobby", data, NOON + MINUTE)

    assert retried == kept and not retried.detected
    assert data_lake_lines() == before
    assert CurrentCount.objects.get().since_detection == 1


def test_a_processed_image_that_is_not_a_jpeg_is_rejected(lobby, detector):
    name = "lobby/20261203T120000.000000Z-" + "ab" * 12 + ".jpg"
    storages["processed_images"].save(name, ContentFile(b"GIF89a not a snapshot"))

    assert count_processed(name) == []

    assert detector.calls == 0
    assert stored("processed_images") == [] and stored("data_lake") == []
    assert not CurrentCount.objects.exists()


def test_the_fingerprint_is_a_thumbnail_not_the_picture(lobby):
    process("lobby", image_bytes("vtest_300.jpg"), NOON)

    kept = bytes(CurrentCount.objects.get().fingerprint)

    assert len(kept) == DIGEST_BYTES + CELLS == 4 + 32 * 24


def test_fingerprints_of_two_zones_never_match():
    thumb = bytes(range(256)) * 3
    west = ZoneShape(1, "West", tuple(map(tuple, LEFT)))
    east = ZoneShape(2, "East", tuple(map(tuple, RIGHT)))

    assert changed_share(fingerprint(thumb, west), fingerprint(thumb, west)) == 0
    assert changed_share(fingerprint(thumb, west), fingerprint(thumb, east)) == 1
    assert changed_share(b"", fingerprint(thumb, west)) == 1


@pytest.mark.django_db
def test_on_aws_an_unchanged_snapshot_costs_no_rekognition_call(
    provisioned,  # noqa: F811
    rekognition,  # noqa: F811
):
    camera, _ = make_camera("lobby")
    zone = Zone.objects.create(camera=camera, name="Everywhere", polygon=WHOLE_PICTURE)
    process("lobby", retaken("vtest_450.jpg", seed=1), NOON)

    [again] = process("lobby", retaken("vtest_450.jpg", seed=2), NOON + MINUTE)

    assert len(rekognition.requests) == 1
    assert again.people == 3 and not again.detected
    table = aws.resource("dynamodb").Table(NAMES["CURRENT_COUNTS_TABLE"])
    item = table.get_item(Key={"zone_id": zone.pk})["Item"]
    assert item["since_detection"] == 1 and item["people"] == 3
    assert len(item["fingerprint"].value) == DIGEST_BYTES + CELLS
