"""Cameras as devices, with real processes: the web server, the embedded
MQTT broker and the camera agent with a folder of frames."""

import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.process_helpers import ROOT, answers, free_port, manage, wait_for

pytestmark = pytest.mark.e2e

FRAMES = ROOT / "demo" / "frames"
PASSWORD = "a long password for staff"
# Far longer than the test: a new configuration can only come over MQTT.
HEARTBEAT_SECONDS = 3600
STAMP = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)")
FIRST_CONFIG = """
from devices.commands import apply_config
from devices.messaging import PublishFailed
try:
    apply_config({"sampling_interval": 3, "opening_hours": [["00:00", "24:00"]],
                  "time_zone": "UTC", "jpeg_quality": 85})
except PublishFailed:
    pass  # the broker is not up yet; it publishes the configuration itself
"""


class Site:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.mqtt_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "OCCUPANCY_DATA_DIR": str(self.data),
            "MQTT_URL": "",
            "MQTT_BROKER_BIND": f"127.0.0.1:{self.mqtt_port}",
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        }
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def start(self, *command: str, log: Path | None = None) -> subprocess.Popen:
        output = log.open("w") if log else None
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stderr=output)
        if output:
            output.close()  # the child keeps its own copy
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=20)

    def camera(self, camera_id: str) -> dict | None:
        with sqlite3.connect(self.data / "occupancy.sqlite3") as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT * FROM devices_camera WHERE id = ?", (camera_id,)
            ).fetchone()
        return dict(row) if row else None

    def stamps(self, store: str, camera_id: str) -> list[datetime]:
        folder = self.data / store / camera_id
        names = sorted(path.name for path in folder.glob("*.jpg"))
        return [
            datetime.strptime(STAMP.search(name)[1], "%Y%m%dT%H%M%S.%fZ")
            for name in names
        ]


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    site.manage("migrate", "--verbosity", "0")
    site.manage("createsuperuser", "--noinput", "--username", "staff", "--email", "")
    site.manage("shell", "-c", FIRST_CONFIG)
    yield site
    site.stop()


def agent_config(site: Site, token: str) -> Path:
    path = site.folder / "agent.toml"
    path.write_text(
        f'server_url = "{site.url}"\n'
        f'enrollment_token = "{token}"\n'
        'serial = "e2e01"\n'
        'state_path = "agent/state.json"\n'
        'buffer_dir = "agent/buffer"\n'
        f"heartbeat_seconds = {HEARTBEAT_SECONDS}\n"
        'source = "folder"\n'
        f'[folder]\npath = "{FRAMES}"\n'
    )
    return path


def test_a_camera_enrolls_uploads_obeys_and_takes_a_new_interval(site):
    token = site.manage("create_enrollment_token", "--uses", "1")
    site.start(sys.executable, "manage.py", "mqtt_broker")
    site.start(sys.executable, "manage.py", "serve", "--port", str(site.port))
    wait_for(lambda: answers(f"{site.url}/api/v1/occupancy/"), what="the web server")
    log = site.folder / "agent.log"
    agent = site.start(
        sys.executable, "-m", "pi", "--config", str(agent_config(site, token)), log=log
    )

    # It enrolls with the token, keeps its identity and starts sending.
    camera = wait_for(
        lambda: _after_first_heartbeat(site.camera("cam-e2e01")),
        what="the enrollment and the first heartbeat",
    )
    assert camera["serial"] == "e2e01"
    assert camera["heartbeat_seconds"] == HEARTBEAT_SECONDS
    state = site.folder / "agent" / "state.json"
    assert state.stat().st_mode & 0o777 == 0o600
    wait_for(lambda: len(site.stamps("image-cache", "cam-e2e01")) >= 2, what="uploads")

    # "Capture a control image" reaches it over MQTT.
    response = requests.post(
        f"{site.url}/api/v1/cameras/capture",
        json={"cameras": ["cam-e2e01"]},
        auth=("staff", PASSWORD),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    wait_for(
        lambda: site.stamps("control-images", "cam-e2e01"), what="the control image"
    )

    # A new interval arrives over MQTT and applies without a restart.
    response = requests.put(
        f"{site.url}/api/v1/cameras/config",
        json={
            "sampling_interval": 1,
            "opening_hours": [["00:00", "24:00"]],
            "time_zone": "UTC",
            "jpeg_quality": 85,
        },
        auth=("staff", PASSWORD),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    version = response.json()["sent"]["payload"]["version"]
    changed = time.time()
    wait_for(lambda: _recent_gaps(site, changed, 4), what="snapshots a second apart")
    gaps = _recent_gaps(site, changed, 4)
    assert max(gaps) < 2.0, gaps
    said = log.read_text()
    assert f"Applied configuration version {version} from MQTT" in said, said
    assert agent.poll() is None, "the agent must not restart"
    assert said.count(" started as camera ") == 1, said


def _after_first_heartbeat(camera: dict | None) -> dict | None:
    return camera if camera and camera["heartbeat_seconds"] else None


def _recent_gaps(site: Site, since: float, count: int) -> list[float] | None:
    after = datetime.fromtimestamp(since + 0.5, UTC).replace(tzinfo=None)
    stamps = [s for s in site.stamps("image-cache", "cam-e2e01") if s > after]
    if len(stamps) < count:
        return None
    return [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
