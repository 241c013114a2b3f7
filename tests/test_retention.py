import logging
import os
import time
from datetime import UTC, datetime

from django.core.files.base import ContentFile
from django.core.files.storage import storages

from pipeline import detectors
from pipeline.crop import crop_snapshot
from pipeline.retention import expire_images
from pipeline.uploads import accept_snapshot
from pipeline.worker import Worker
from tests.helpers import image_bytes, stored

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
    tally = worker.run_once()

    assert stored("image_cache") == [] and stored("processed_images") == []
    assert tally.expired == 1
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
