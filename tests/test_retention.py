import logging
import os
import time
from datetime import UTC, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from audit.models import ImageEvent
from pipeline import detectors
from pipeline.count import count_processed
from pipeline.crop import crop_snapshot
from pipeline.retention import expire_images
from pipeline.uploads import accept_snapshot
from pipeline.worker import Worker
from tests.helpers import image_bytes, make_camera, stored
from zones.models import Zone

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def age(alias: str, name: str, seconds: float) -> None:
    """Make a stored image look as if it arrived seconds ago."""
    path = storages[alias].path(name)
    then = time.time() - seconds
    os.utime(path, (then, then))


class BrokenDetector:
    name = "broken"

    def detect(self, image):
        raise RuntimeError("the model crashed")


def test_it_deletes_a_snapshot_left_over_ninety_seconds(lobby, caplog):
    key = accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    age("image_cache", key.name, 95)

    with caplog.at_level(logging.WARNING):
        expired = expire_images()

    assert expired == [key.name]
    assert stored("image_cache") == []
    assert f"image {key.image_id} of camera lobby" in caplog.text


def test_it_keeps_a_snapshot_that_just_arrived(lobby):
    key = accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    age("image_cache", key.name, 30)

    assert expire_images() == []
    assert stored("image_cache") == [key.name]


def test_a_failing_detector_never_keeps_an_image_past_the_limit(
    lobby, monkeypatch, caplog
):
    monkeypatch.setattr(detectors, "get_detector", lambda: BrokenDetector())
    monkeypatch.setattr("pipeline.count.get_detector", lambda: BrokenDetector())
    accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    worker = Worker()

    with caplog.at_level(logging.ERROR):
        worker.run_once()
        worker.run_once()
    [processed] = stored("processed_images")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    age("processed_images", processed, 91)
    with caplog.at_level(logging.WARNING):
        worker.run_once()

    assert stored("image_cache") == [] and stored("processed_images") == []
    assert "from processed_images unprocessed after" in caplog.text
    assert len(errors) == 1, "a failure is logged once, not on every retry"
    assert processed in errors[0].getMessage()


def test_it_rejects_a_broken_file_in_the_cache_at_once(lobby, caplog):
    name = "lobby/20261203T120000.000000Z-" + "a" * 24 + ".jpg"
    storages["image_cache"].save(name, ContentFile(b"\xff\xd8\xff garbage"))

    with caplog.at_level(logging.WARNING):
        written = crop_snapshot(name)

    assert written == []
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert "Rejected snapshot" in caplog.text and "lobby" in caplog.text


def test_it_drops_a_file_with_a_name_it_does_not_know(lobby, caplog):
    storages["image_cache"].save("lobby/notes.txt", ContentFile(b"x"))
    names = stored("image_cache")

    Worker().run_once()

    assert names and stored("image_cache") == []


def test_it_drops_a_snapshot_of_a_camera_without_zones(db, caplog):
    accept_snapshot("ghost", image_bytes("vtest_000.jpg"), NOON)

    with caplog.at_level(logging.WARNING):
        Worker().run_once()

    assert stored("image_cache") == [] and stored("processed_images") == []
    assert "of camera ghost: the camera has no active zones" in caplog.text


def arrival(alias: str, name: str) -> datetime:
    """When a stored image counts as arrived: its file's time, locally."""
    return storages[alias].get_modified_time(name)


def stages_of(image_id: str) -> list[tuple[str, str]]:
    events = ImageEvent.objects.filter(image_id=image_id).order_by("at", "pk")
    return [(event.stage, event.outcome) for event in events]


def test_a_processed_image_is_aged_from_its_snapshots_arrival(lobby, caplog):
    key = accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    age("image_cache", key.name, 85)
    arrived = arrival("image_cache", key.name)

    [processed] = crop_snapshot(key.name)
    assert arrival("processed_images", processed) == arrived
    with caplog.at_level(logging.WARNING):
        expired = expire_images(now=arrived + timedelta(seconds=95))

    assert expired == [processed]
    assert stored("processed_images") == []
    assert "from processed_images unprocessed after 95 s" in caplog.text
    assert stages_of(key.image_id)[-1][0] == "expired"


def test_every_zone_crop_carries_its_snapshots_arrival(db, settings):
    settings.COUNT_STRATEGY = "crop"
    camera, _ = make_camera("hall")
    for name, polygon in (
        ("Left", [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]),
        ("Right", [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]),
    ):
        Zone.objects.create(camera=camera, name=name, polygon=polygon)
    key = accept_snapshot("hall", image_bytes("vtest_000.jpg"), NOON)
    age("image_cache", key.name, 40)
    arrived = arrival("image_cache", key.name)

    written = crop_snapshot(key.name)

    assert len(written) == 2
    assert [arrival("processed_images", name) for name in written] == [arrived] * 2


def test_the_crop_stage_deletes_a_snapshot_too_old_to_be_counted(lobby, caplog):
    key = accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    age("image_cache", key.name, 95)

    with caplog.at_level(logging.WARNING):
        written = crop_snapshot(key.name)

    assert written == []
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert f"image {key.image_id} of camera lobby from image_cache" in caplog.text
    [(stage, outcome)] = stages_of(key.image_id)
    assert stage == "expired" and "from image_cache unprocessed" in outcome


def test_a_slow_detector_leaves_less_time_to_crop(lobby, settings):
    settings.DETECTOR_TIMEOUT = 60
    fresh = accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    old = accept_snapshot("lobby", image_bytes("vtest_150.jpg"), NOON)
    age("image_cache", fresh.name, 55)
    age("image_cache", old.name, 65)

    assert crop_snapshot(old.name) == []
    assert crop_snapshot(fresh.name) == [fresh.processed_name()]
    assert stored("processed_images") == [fresh.processed_name()]


def test_the_count_stage_deletes_an_image_too_old_to_be_counted(lobby, caplog):
    key = accept_snapshot("lobby", image_bytes("vtest_000.jpg"), NOON)
    [processed] = crop_snapshot(key.name)
    age("processed_images", processed, 95)

    with caplog.at_level(logging.WARNING):
        counts = count_processed(processed)

    assert counts == []
    assert stored("processed_images") == [] and stored("data_lake") == []
    assert "from processed_images unprocessed after" in caplog.text
    assert [stage for stage, _ in stages_of(key.image_id)] == ["crop", "expired"]
