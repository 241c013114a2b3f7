import json
from datetime import UTC, datetime, timedelta

from django.core.files.storage import storages

from pipeline.count import count_processed
from pipeline.counts import current_counts
from pipeline.crop import crop_snapshot
from pipeline.models import CurrentCount
from pipeline.uploads import accept_snapshot
from tests.helpers import image_bytes, stored
from tests.pipeline_helpers import process

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def data_lake_lines() -> list[dict]:
    lake = storages["data_lake"]
    lines = []
    for name in stored("data_lake"):
        with lake.open(name) as handle:
            lines.extend(json.loads(line) for line in handle.read().splitlines())
    return lines


def test_processing_a_snapshot_twice_counts_it_once(lobby):
    camera, _ = lobby
    data = image_bytes("vtest_150.jpg")
    key = accept_snapshot(camera.pk, data, NOON)
    [processed] = crop_snapshot(key.name)
    copy = storages["processed_images"].open(processed).read()

    first = count_processed(processed)
    # The same event delivered again, as Lambda or a restarted worker may.
    accept_snapshot(camera.pk, data, NOON)
    crop_snapshot(key.name)
    second = count_processed(processed)

    assert copy and first == second
    assert len(data_lake_lines()) == 1
    assert CurrentCount.objects.get().people == first[0].people
    assert stored("image_cache") == [] and stored("processed_images") == []


def test_an_older_capture_never_replaces_a_newer_count(lobby):
    camera, _ = lobby
    process(camera.pk, image_bytes("vtest_150.jpg"), NOON)
    newer = CurrentCount.objects.get()

    process(camera.pk, image_bytes("dog.jpg"), NOON - timedelta(minutes=5))

    kept = CurrentCount.objects.get()
    assert kept.captured_at == NOON and kept.people == newer.people
    assert kept.image_id == newer.image_id
    # Both captures are still history.
    assert len(data_lake_lines()) == 2


def test_a_newer_capture_replaces_the_count(lobby):
    camera, _ = lobby
    process(camera.pk, image_bytes("vtest_150.jpg"), NOON)

    process(camera.pk, image_bytes("dog.jpg"), NOON + timedelta(seconds=5))

    kept = CurrentCount.objects.get()
    assert kept.captured_at == NOON + timedelta(seconds=5)
    assert kept.people == 0


def test_the_data_lake_record_has_the_agreed_fields(lobby):
    camera, _ = lobby
    [count] = process(camera.pk, image_bytes("vtest_150.jpg"), NOON)

    [record] = data_lake_lines()
    [name] = stored("data_lake")

    assert name.startswith("occupancy/dt=2026-12-03/")
    assert record == {
        "camera_id": "lobby",
        "zone_id": count.zone_id,
        "zone_name": "Everywhere",
        "people": count.people,
        "captured_at": "2026-12-03T12:00:00Z",
        "image_id": count.image_id,
        "detector": "ssdlite-mobilenetv2+tiles2x2",
        "detected": True,
    }
    assert isinstance(record["people"], int)


def test_counts_for_zones_reads_the_latest_per_zone(lobby):
    camera, _ = lobby
    [count] = process(camera.pk, image_bytes("vtest_150.jpg"), NOON)

    found = current_counts().for_zones([count.zone_id, 999])

    assert found == {count.zone_id: count}
