"""The camera agent as the process a Pi runs: python -m pi --config FILE,
against a real HTTP server playing the device API and a real MQTT broker."""

import json
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.agent_helpers import (
    DeviceServer,
    EmbeddedBroker,
    Publisher,
    copy_frames,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
UPLOADS = "/api/v1/uploads/"
CONTROL = "/api/v1/control-images/"


def enrollment(port: int) -> dict:
    return {
        "camera_id": "cam-pi1",
        "api_token": "the-device-token",
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "tls": False,
            "client_id": "cam-pi1",
            "topics": {
                "commands": "occupancy/cameras/cam-pi1/commands",
                "broadcast": "occupancy/cameras/all/commands",
                "config": "occupancy/cameras/all/config",
            },
        },
    }


def device_config(version: int, opening_hours: list[list[str]]) -> dict:
    return {
        "version": version,
        "sampling_interval": 1,
        "opening_hours": opening_hours,
        "time_zone": "UTC",
        "jpeg_quality": 85,
    }


def closed_for_the_next_hours() -> list[list[str]]:
    later = datetime.now(UTC) + timedelta(hours=3)
    return [[f"{later.hour:02d}:00", f"{(later.hour + 1) % 24:02d}:00"]]


@pytest.fixture
def broker():
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.close()


@pytest.fixture
def server(broker):
    server = DeviceServer()
    always = device_config(2, [["00:00", "24:00"]])
    server.script("POST", "/api/v1/devices/register", (201, enrollment(broker.port)))
    server.script("GET", "/api/v1/devices/config", (200, always))
    server.script("POST", "/api/v1/devices/heartbeat", (200, always))
    yield server
    server.close()


@pytest.fixture
def agent_files(tmp_path, server):
    copy_frames(tmp_path / "frames")
    config = tmp_path / "agent.toml"
    config.write_text(
        f'server_url = "{server.url}"\n'
        'enrollment_token = "enrol-me"\n'
        'serial = "pi1"\n'
        'source = "folder"\n'
        "heartbeat_seconds = 10\n"
        "[folder]\n"
        'path = "frames"\n'
    )
    return config, tmp_path / "agent.log"


def test_the_agent_enrolls_uploads_obeys_mqtt_and_stops_on_sigterm(
    server, broker, agent_files
):
    config, log = agent_files
    with log.open("w") as output:
        agent = subprocess.Popen(
            [sys.executable, "-m", "pi", "--config", str(config)],
            cwd=ROOT,
            stderr=output,
        )
    try:
        wait_for(lambda: len(server.received(UPLOADS)) >= 2)
        upload = server.received(UPLOADS)[0]
        assert upload.headers["Authorization"] == "Token the-device-token"

        publisher = Publisher(broker.port)
        # Until the agent has subscribed, a command reaches nobody.
        wait_for(lambda: _ask_for_control_image(publisher, server))
        topic = "occupancy/cameras/all/config"
        publisher.publish(topic, device_config(3, closed_for_the_next_hours()))
        publisher.close()
        wait_for(lambda: "Applied configuration version 3" in log.read_text())
        time.sleep(0.5)  # a snapshot already on its way may still land
        before = len(server.received(UPLOADS))
        time.sleep(2.5)
        assert len(server.received(UPLOADS)) == before

        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()

    text = log.read_text()
    assert "Enrolled as camera cam-pi1" in text
    assert "Outside opening hours" in text
    assert "Occupancy agent stopped" in text
    saved = json.loads((config.parent / "state.json").read_text())
    assert saved["config"]["version"] == 3


def _ask_for_control_image(publisher: Publisher, server: DeviceServer) -> bool:
    command = {
        "command": "capture_control_image",
        "command_id": secrets.token_hex(16),
        "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    publisher.publish("occupancy/cameras/cam-pi1/commands", command)
    time.sleep(0.2)
    return bool(server.received(CONTROL))


def test_the_agent_imports_nothing_of_the_server():
    code = (
        "import sys, pi.__main__, pi.agent, pi.mqtt, pi.sources\n"
        "local = {'django', 'rest_framework', 'occupancy_site', 'devices',\n"
        "         'zones', 'pipeline', 'analytics', 'bench', 'tests'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in local))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
