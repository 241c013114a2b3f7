"""Faults injected into a running pipeline and the services around it.

In every case: no image is kept past the limit, no count is doubled or
lost beyond the snapshot that met the fault, the failure is logged once
with the camera and image id, and the next snapshot is counted without
anyone restarting anything.
"""

import errno
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from audit.models import ImageEvent
from audit.store import KEEP_LIMIT, Event, Life, lives
from devices.broker import EmbeddedBroker
from devices.models import CameraConfig, CaptureRequest
from pipeline.detectors import get_detector
from pipeline.keys import SnapshotKey, image_id_for
from pipeline.models import CurrentCount
from pipeline.retention import expire_images
from pipeline.uploads import accept_snapshot
from pipeline.worker import Worker
from tests.helpers import image_bytes, stored
from tests.process_helpers import ROOT, free_port, run_python, wait_for
from tests.test_idempotency import data_lake_lines
from tests.test_upload import upload

FRAMES = ["vtest_000.jpg", "vtest_150.jpg", "vtest_300.jpg"]


class FaultyDetector:
    """The real detector, with a fault switched on or off."""

    def __init__(self, fault: str) -> None:
        self.real = get_detector()
        self.real.detect(image_bytes(FRAMES[0]))  # warm, as a long-lived worker is
        self.name = self.real.name
        self.fault = fault
        self.released = threading.Event()

    def detect(self, image: bytes) -> list:
        if self.fault == "raise":
            raise RuntimeError("the model ran out of memory")
        if self.fault == "hang":
            self.released.wait(30)
        return self.real.detect(image)


def snapshot(frame: int, seconds_ago: int) -> SnapshotKey:
    captured = timezone.now() - timedelta(seconds=seconds_ago)
    return accept_snapshot("lobby", image_bytes(FRAMES[frame]), captured)


def mentions(caplog, image_id: str) -> list[logging.LogRecord]:
    """The pipeline's warnings and errors about one image.

    The audit says apart when it cannot note a stage: that is another
    failure, of another store.
    """
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.name.startswith("pipeline.")
        and image_id in record.getMessage()
    ]


def assert_counted_exactly(*keys: SnapshotKey) -> None:
    lines = data_lake_lines()
    assert sorted(line["image_id"] for line in lines) == sorted(
        key.image_id for key in keys
    )
    latest = max(keys, key=lambda key: key.captured_at)
    assert CurrentCount.objects.get().image_id == latest.image_id


def expire_late() -> list[str]:
    """The retention sweep as it runs 91 seconds from now."""
    return expire_images(now=timezone.now() + timedelta(seconds=91))


@pytest.fixture
def detector(monkeypatch):
    faulty = FaultyDetector("none")
    monkeypatch.setattr("pipeline.count.get_detector", lambda: faulty)
    yield faulty
    faulty.released.set()


@pytest.fixture
def quick(settings):
    # Every snapshot goes to the detector and counts as it is.
    settings.DETECT_EVERY = 1
    settings.SMOOTHING_WINDOW = 1


def test_a_raising_detector_costs_one_snapshot(lobby, quick, detector, caplog):
    worker = Worker()
    before = snapshot(0, 30)
    worker.run_once()
    detector.fault = "raise"

    failed = snapshot(1, 20)
    worker.run_once()
    worker.run_once()

    assert len(mentions(caplog, failed.image_id)) == 1
    assert "lobby" in mentions(caplog, failed.image_id)[0].getMessage()
    assert stored("processed_images") == [failed.processed_name()]
    assert expire_late() == [failed.processed_name()]
    detector.fault = "none"
    after = snapshot(2, 10)
    worker.run_once()
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert_counted_exactly(before, after)


def test_a_hanging_detector_is_given_up_on(lobby, quick, detector, settings, caplog):
    settings.DETECTOR_TIMEOUT = 1.5
    worker = Worker()
    before = snapshot(0, 30)
    worker.run_once()
    detector.fault = "hang"

    failed = snapshot(1, 20)
    worker.run_once()

    [logged] = mentions(caplog, failed.image_id)
    assert "lobby" in logged.getMessage() and "longer than 1.5 s" in logged.getMessage()
    assert stored("image_cache") == [] and stored("processed_images") == []
    detector.fault = "none"
    after = snapshot(2, 10)
    worker.run_once()
    assert_counted_exactly(before, after)


@contextmanager
def refusing_writes(alias: str, error: int) -> Iterator[None]:
    """A store whose every write fails with an OSError until the block ends."""

    def refuse(name, content):
        raise OSError(error, os.strerror(error))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storages[alias], "_save", refuse)
        yield


def test_a_store_that_refuses_writes_costs_one_snapshot(lobby, quick, caplog):
    worker = Worker()
    before = snapshot(0, 30)
    worker.run_once()

    with refusing_writes("processed_images", errno.ENOSPC):
        failed = snapshot(1, 20)
        worker.run_once()
        worker.run_once()

        assert len(mentions(caplog, failed.image_id)) == 1
        assert stored("image_cache") == [failed.name]
        assert expire_late() == [failed.name]
    after = snapshot(2, 10)
    worker.run_once()
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert_counted_exactly(before, after)


def test_a_data_lake_that_refuses_writes_costs_one_snapshot(lobby, quick, caplog):
    worker = Worker()
    before = snapshot(0, 30)
    worker.run_once()

    with refusing_writes("data_lake", errno.EIO):
        failed = snapshot(1, 20)
        worker.run_once()
        worker.run_once()

        [logged] = mentions(caplog, failed.image_id)
        assert "lobby" in logged.getMessage()
        # The current counts are written after the data lake, so they still
        # show the last snapshot the data lake holds.
        assert CurrentCount.objects.get().image_id == before.image_id
        assert stored("processed_images") == [failed.processed_name()]
        assert expire_late() == [failed.processed_name()]
    after = snapshot(2, 10)
    worker.run_once()
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert_counted_exactly(before, after)


def test_a_data_lake_that_recovers_in_time_gets_the_snapshot_once(
    lobby, quick, monkeypatch, caplog
):
    worker = Worker()
    lake = storages["data_lake"]
    healthy_save = lake._save
    refusals = []

    def refuse_once(name, content):
        if not refusals:
            refusals.append(name)
            raise OSError(errno.ENOSPC, "No space left on device")
        return healthy_save(name, content)

    monkeypatch.setattr(lake, "_save", refuse_once)
    delayed = snapshot(1, 20)
    worker.run_once()
    worker.run_once()

    assert len(refusals) == 1
    assert len(mentions(caplog, delayed.image_id)) == 1
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert_counted_exactly(delayed)


class DiskFills(ContentFile):
    """Content whose write fails half way, as on a full disk."""

    def chunks(self, chunk_size=None):
        data = self.file.getvalue()
        yield data[: len(data) // 2]
        raise OSError(errno.ENOSPC, "No space left on device")


def files_in(alias: str) -> list[Path]:
    """Every file of a local store, hidden temporary ones too."""
    return files(Path(storages[alias].location))


def assert_refused_for_now(
    refused, data: bytes, caplog, reason: str, cause: str
) -> str:
    """A 503 the camera may retry, logged once, with no file kept; the id."""
    assert refused.status_code == 503 and refused["Retry-After"] == "10"
    assert reason in refused.json()["detail"]
    image_id = image_id_for(data)
    [logged] = mentions(caplog, image_id)
    assert "lobby" in logged.getMessage() and cause in logged.getMessage()
    assert files_in("image_cache") == []
    return image_id


def test_an_image_cache_that_refuses_an_upload_is_a_503_and_keeps_nothing(
    lobby, quick, client_for, monkeypatch, caplog
):
    camera, token = lobby
    data = image_bytes(FRAMES[1])
    monkeypatch.setattr("pipeline.uploads.ContentFile", DiskFills)

    refused = upload(client_for(token), data)

    image_id = assert_refused_for_now(
        refused, data, caplog, "image cache", "No space left"
    )
    assert not ImageEvent.objects.filter(image_id=image_id).exists()
    camera.refresh_from_db()
    assert camera.last_snapshot_at is None
    monkeypatch.undo()
    again = upload(client_for(token), data)
    assert again.status_code == 201 and again.json()["image_id"] == image_id
    Worker().run_once()
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert [line["image_id"] for line in data_lake_lines()] == [image_id]


@contextmanager
def writes_held(table: str) -> Iterator[None]:
    """Another connection in the middle of a write to a table.

    Reads go on, as they do beside a writer in WAL mode; a write fails
    with SQLite's `locked` error.
    """
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA read_uncommitted = true")
    other = sqlite3.connect(
        connection.settings_dict["NAME"], uri=True, isolation_level=None
    )
    other.execute("BEGIN IMMEDIATE")
    other.execute(f"UPDATE {table} SET description = description")  # noqa: S608
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = false")


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_during_an_upload_is_a_503_the_camera_can_retry(
    lobby, quick, client_for, caplog
):
    camera, token = lobby
    data = image_bytes(FRAMES[1])
    with writes_held("devices_camera"):
        refused = upload(client_for(token), data)

    image_id = assert_refused_for_now(
        refused, data, caplog, "database is busy", "locked"
    )
    again = upload(client_for(token), data)
    assert again.status_code == 201
    Worker().run_once()
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert [line["image_id"] for line in data_lake_lines()] == [image_id]
    camera.refresh_from_db()
    assert camera.last_snapshot_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_while_a_token_is_checked_is_a_503(lobby, client_for, caplog):
    connection.ensure_connection()
    other = sqlite3.connect(connection.settings_dict["NAME"], uri=True)
    other.execute("BEGIN EXCLUSIVE")
    try:
        refused = upload(client_for(lobby[1]), image_bytes(FRAMES[1]))
    finally:
        other.rollback()
        other.close()

    assert refused.status_code == 503 and refused["Retry-After"] == "10"
    assert refused.json() == {
        "detail": "The database is busy; try again in a few seconds."
    }
    [logged] = [r for r in caplog.records if r.name == "occupancy_site.api"]
    assert "POST /api/v1/uploads/" in logged.getMessage()
    assert files_in("image_cache") == []
    assert upload(client_for(lobby[1]), image_bytes(FRAMES[1])).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_delays_a_count_without_doubling_it(lobby, quick, caplog):
    worker = Worker()
    before = snapshot(0, 30)
    worker.run_once()
    connection.ensure_connection()
    # A second connection holds the database as another process would.
    other = sqlite3.connect(connection.settings_dict["NAME"], uri=True)
    other.execute("BEGIN EXCLUSIVE")

    delayed = snapshot(1, 20)
    worker.run_once()
    worker.run_once()
    other.rollback()
    other.close()

    assert len(mentions(caplog, delayed.image_id)) == 1
    worker.run_once()
    after = snapshot(2, 10)
    worker.run_once()
    assert stored("image_cache") == [] and stored("processed_images") == []
    assert_counted_exactly(before, delayed, after)


def test_a_missing_broker_is_a_503_and_cameras_still_get_the_config(
    lobby, admin_user, client_for, settings
):
    port = free_port()
    settings.MQTT_URL = settings.MQTT_PUBLIC_URL = f"mqtt://127.0.0.1:{port}"
    staff = client_for()
    staff.force_authenticate(admin_user)
    config = {
        "sampling_interval": 30,
        "opening_hours": [["07:00", "22:00"]],
        "time_zone": "UTC",
        "jpeg_quality": 80,
    }

    put = staff.put("/api/v1/cameras/config", config, format="json")
    capture = staff.post("/api/v1/cameras/capture", {"cameras": ["lobby"]})

    assert put.status_code == 503 and "saved" in put.json()["detail"]
    assert capture.status_code == 503
    assert CaptureRequest.objects.count() == 0
    heartbeat = client_for(lobby[1]).post("/api/v1/devices/heartbeat", {})
    assert heartbeat.json()["sampling_interval"] == 30
    assert CameraConfig.objects.get().version == heartbeat.json()["version"]
    again = capture_with_the_broker_back(staff, port)
    assert again.status_code == 200
    assert CaptureRequest.objects.count() == 1


def capture_with_the_broker_back(staff, port: int):
    """Start the broker again on its port and ask for one capture."""
    broker = EmbeddedBroker(f"127.0.0.1:{port}")
    broker.start()
    try:
        return staff.post("/api/v1/cameras/capture", {"cameras": ["lobby"]})
    finally:
        broker.stop()


def test_a_broker_that_goes_away_costs_only_the_commands(
    lobby, quick, admin_user, client_for, settings, caplog
):
    port = free_port()
    settings.MQTT_URL = settings.MQTT_PUBLIC_URL = f"mqtt://127.0.0.1:{port}"
    staff = client_for()
    staff.force_authenticate(admin_user)
    broker = EmbeddedBroker(f"127.0.0.1:{port}")
    broker.start()
    sent = staff.post("/api/v1/cameras/capture", {"cameras": ["lobby"]})
    broker.stop()

    refused = [
        staff.post("/api/v1/cameras/capture", {"cameras": ["lobby"]}) for _ in range(3)
    ]
    counted = snapshot(1, 10)
    Worker().run_once()

    assert sent.status_code == 200
    assert [response.status_code for response in refused] == [503] * 3
    assert all("MQTT broker" in r.json()["detail"] for r in refused)
    assert_counted_exactly(counted)
    [logged] = broker_lines(caplog, port)
    assert logged.levelno == logging.ERROR
    again = capture_with_the_broker_back(staff, port)
    assert again.status_code == 200
    assert CaptureRequest.objects.count() == 2
    assert "answers again" in broker_lines(caplog, port)[-1].getMessage()


def broker_lines(caplog, port: int) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and f":{port}" in record.getMessage()
    ]


# The worker, with its count stage stopped dead, as a process killed just
# after the crop stage would be.
PAUSED_WORKER = """
import time
import django
django.setup()
import pipeline.worker
pipeline.worker.count_processed = lambda name: time.sleep(600)
from django.core.management import call_command
call_command("worker")
"""

SETUP = """
import sys
from datetime import UTC, datetime, timedelta
import django
django.setup()
from django.utils import timezone
from devices.models import Camera
from pipeline.uploads import accept_snapshot
from zones.models import Zone
camera = Camera(id="lobby", sampling_interval=60)
camera.set_new_token()
camera.save()
Zone.objects.create(camera=camera, name="Everywhere",
                    polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
"""

ACCEPT = """
import sys
from datetime import UTC, datetime, timedelta
import django
django.setup()
from django.utils import timezone
from pipeline.uploads import accept_snapshot
data = open(sys.argv[1], "rb").read()
key = accept_snapshot("lobby", data, timezone.now() - timedelta(seconds=5))
print(key.image_id)
"""


def run(env: dict, *args: str) -> str:
    return run_logged(env, *args)[0]


def run_logged(env: dict, *args: str) -> tuple[str, str]:
    """What a process printed, and what it logged."""
    done = run_python(env, *args)
    return done.stdout.strip(), done.stderr


def audited_lives(database: sqlite3.Connection) -> list[Life]:
    rows = database.execute(
        "SELECT camera_id, image_id, stage, at, outcome FROM audit_imageevent"
    )
    events = [
        Event(camera, image, stage, datetime.fromisoformat(at).replace(tzinfo=UTC), out)
        for camera, image, stage, at, out in rows
    ]
    return lives(events, timezone.now())


def files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.mark.e2e
def test_a_worker_killed_between_crop_and_count_loses_nothing(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "OCCUPANCY_DATA_DIR": str(data), "DETECT_EVERY": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    run(env, "manage.py", "migrate", "-v", "0")
    run(env, "-c", SETUP)
    frame = str(Path(__file__).parent / "images" / FRAMES[1])
    image_id = run(env, "-c", ACCEPT, frame)
    cache, processed = data / "image-cache", data / "processed-images"

    worker = subprocess.Popen([sys.executable, "-c", PAUSED_WORKER], cwd=ROOT, env=env)
    try:
        wait_for(
            lambda: files(processed) and not files(cache),
            timeout=90,
            what="the image to be cropped and not counted",
        )
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    assert image_id in files(processed)[0].name

    printed, logged = run_logged(env, "manage.py", "worker", "--once")
    assert printed.startswith("0 cropped, 1 counted")
    resumed = [line for line in logged.splitlines() if "Resuming" in line]
    assert len(resumed) == 1
    assert "count stage of 1 image(s)" in resumed[0] and image_id in resumed[0]
    second = run(env, "-c", ACCEPT, str(Path(__file__).parent / "images" / FRAMES[2]))
    assert run(env, "manage.py", "worker", "--once").startswith("1 cropped, 1 counted")
    assert files(cache) == [] and files(processed) == []
    lines = [
        json.loads(line)
        for path in files(data / "data-lake")
        for line in path.read_text().splitlines()
    ]
    assert sorted(line["image_id"] for line in lines) == sorted([image_id, second])
    database = sqlite3.connect(data / "occupancy.sqlite3")
    [(stored_id,)] = database.execute("SELECT image_id FROM pipeline_currentcount")
    assert stored_id == second
    kept = audited_lives(database)
    assert sorted(life.image_id for life in kept) == sorted([image_id, second])
    assert all(life.last_stage == "count" for life in kept)
    assert all(life.kept < KEEP_LIMIT for life in kept)
