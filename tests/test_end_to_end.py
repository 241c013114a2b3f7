"""The whole service as separate processes: a real HTTP server, the real
worker and the real detector, driven the way a camera drives it."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.helpers import IMAGES
from tests.process_helpers import ROOT, free_port, manage, wait_for
from tests.test_counting import LEFT, RIGHT

pytestmark = pytest.mark.e2e

ZONES_SCRIPT = f"""
from devices.models import Camera
from zones.models import Zone
camera = Camera.objects.get(pk="e2e")
Zone.objects.create(camera=camera, name="West", polygon={LEFT!r})
Zone.objects.create(camera=camera, name="East", polygon={RIGHT!r})
"""


class Service:
    def __init__(self, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "OCCUPANCY_DATA_DIR": str(data_dir),
            "WORKER_POLL_SECONDS": "0.2",
            "DJANGO_SETTINGS_MODULE": "occupancy_site.settings",
        }
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def start(self, name: str, *args: str) -> None:
        self.processes[name] = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env
        )

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.terminate()
        assert process.wait(timeout=20) is not None

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def images_left(self) -> list[Path]:
        folders = ["image-cache", "processed-images"]
        return [p for f in folders for p in (self.data_dir / f).rglob("*.jpg")]


@pytest.fixture
def service(tmp_path):
    service = Service(tmp_path / "data")
    service.manage("migrate", "--verbosity", "0")
    yield service
    service.stop_all()


def occupancy(service: Service) -> dict | None:
    try:
        return requests.get(f"{service.url}/api/v1/occupancy/", timeout=5).json()
    except requests.ConnectionError:
        return None


def send(service: Service, token: str, frame: str, captured_at: datetime) -> None:
    response = requests.post(
        f"{service.url}/api/v1/uploads/",
        headers={"Authorization": f"Token {token}"},
        files={"image": (frame, (IMAGES / frame).read_bytes(), "image/jpeg")},
        data={"captured_at": captured_at.isoformat()},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def zone_counts(body: dict, at: datetime) -> dict | None:
    stamp = at.isoformat().replace("+00:00", "Z")
    zones = {zone["name"]: zone for zone in body["zones"]}
    if all(zone["captured_at"] == stamp for zone in zones.values()):
        return {name: zone["people"] for name, zone in zones.items()}
    return None


def test_frames_uploaded_over_http_come_back_as_counts(service):
    token = service.manage("create_camera", "e2e", "--interval", "60")
    service.manage("shell", "-c", ZONES_SCRIPT)
    service.start("server", "serve", "--port", str(service.port))
    service.start("worker", "worker")
    wait_for(lambda: occupancy(service), what="the web server")

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    frames = ["vtest_000.jpg", "vtest_150.jpg", "vtest_300.jpg"]
    for offset, frame in enumerate(frames):
        send(service, token, frame, start + timedelta(seconds=offset))
    last = start + timedelta(seconds=2)

    counts = wait_for(
        lambda: zone_counts(occupancy(service), last), what="counts of the last frame"
    )
    assert counts == {"West": 4, "East": 2}
    body = occupancy(service)
    assert body["total"]["people"] == 6 and body["total"]["stale"] is False
    wait_for(lambda: not service.images_left(), what="the images to be deleted")
    lake = list((service.data_dir / "data-lake" / "occupancy").rglob("*.jsonl"))
    assert len(lake) == 3


def test_a_restarted_worker_counts_what_arrived_while_it_was_down(service):
    token = service.manage("create_camera", "e2e", "--interval", "5")
    service.manage("shell", "-c", ZONES_SCRIPT)
    service.start("server", "serve", "--port", str(service.port))
    wait_for(lambda: occupancy(service), what="the web server")

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    send(service, token, "vtest_300.jpg", at)
    assert len(service.images_left()) == 1  # nobody is counting yet
    service.start("worker", "worker")

    counts = wait_for(lambda: zone_counts(occupancy(service), at), what="counts")
    assert counts == {"West": 4, "East": 2}
    wait_for(lambda: not service.images_left(), what="the images to be deleted")
