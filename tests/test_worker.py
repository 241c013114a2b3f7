import os
import shutil
from datetime import UTC, datetime, timedelta

from django.core.files.storage import storages

from pipeline.count import count_processed
from pipeline.crop import crop_snapshot
from pipeline.models import CurrentCount
from pipeline.uploads import accept_snapshot
from pipeline.worker import Worker
from tests.helpers import image_bytes, stored
from tests.test_idempotency import data_lake_lines

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
FRAMES = ["vtest_000.jpg", "vtest_150.jpg", "vtest_300.jpg"]


def test_it_processes_snapshots_that_arrived_while_it_was_down(lobby):
    for offset, frame in enumerate(FRAMES):
        accept_snapshot("lobby", image_bytes(frame), NOON + timedelta(seconds=offset))

    tally = Worker().run_once()

    assert (tally.snapshots, tally.counted, tally.failed) == (3, 3, 0)
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert len(data_lake_lines()) == 3
    assert CurrentCount.objects.get().captured_at == NOON + timedelta(seconds=2)


def test_it_finishes_a_snapshot_interrupted_between_the_stages(lobby):
    key = accept_snapshot("lobby", image_bytes("vtest_150.jpg"), NOON)
    cache = storages["image_cache"]
    keep = cache.path(key.name) + ".kept"
    shutil.copy(cache.path(key.name), keep)
    crop_snapshot(key.name)
    # The crop stage wrote its image but died before deleting the snapshot.
    shutil.move(keep, cache.path(key.name))

    Worker().run_once()

    assert stored("image_cache") == [] and stored("processed_images") == []
    assert len(data_lake_lines()) == 1


def test_it_finishes_an_image_interrupted_after_counting(lobby):
    key = accept_snapshot("lobby", image_bytes("vtest_150.jpg"), NOON)
    [name] = crop_snapshot(key.name)
    processed = storages["processed_images"]
    keep = processed.path(name) + ".kept"
    shutil.copy(processed.path(name), keep)
    [count] = count_processed(name)
    # Counted and recorded, but the process died before deleting the image.
    shutil.move(keep, processed.path(name))

    Worker().run_once()

    assert stored("processed_images") == []
    assert len(data_lake_lines()) == 1
    assert CurrentCount.objects.get().people == count.people


def test_it_ignores_a_file_still_being_written(lobby):
    cache = storages["image_cache"]
    partial = cache.path("lobby/.tmpabc.part")
    os.makedirs(cache.path("lobby"), exist_ok=True)
    with open(partial, "wb") as handle:
        handle.write(image_bytes("vtest_000.jpg")[:100])

    tally = Worker().run_once()

    assert tally.snapshots == 0 and tally.failed == 0


def test_a_long_pass_sweeps_old_images_before_their_turn(lobby, monkeypatch):
    keys = [
        accept_snapshot("lobby", image_bytes(frame), NOON + timedelta(seconds=i))
        for i, frame in enumerate(FRAMES)
    ]
    cache = storages["image_cache"]
    handed_to_crop = []

    def slow_crop(name: str) -> list[str]:
        handed_to_crop.append(name)
        # While this snapshot was being processed, the others waited long.
        for key in keys:
            if key.name == name:
                continue
            long_ago = cache.get_modified_time(key.name).timestamp() - 100
            os.utime(cache.path(key.name), (long_ago, long_ago))
        return crop_snapshot(name)

    monkeypatch.setattr("pipeline.worker.crop_snapshot", slow_crop)
    monkeypatch.setattr("pipeline.worker.SWEEP_DURING_PASS_EVERY", 0.0)

    tally = Worker().run_once()

    assert len(handed_to_crop) == 1
    assert tally.expired == 2 and tally.failed == 0
    assert stored("image_cache") == [] and stored("processed_images") == []
