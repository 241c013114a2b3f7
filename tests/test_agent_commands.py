"""Commands and configuration the camera agent receives from the server,
driven through the agent's MQTT entry point."""

import json
import logging
from datetime import UTC, datetime

import pytest

from pi.agent import Agent
from pi.buffer import SnapshotBuffer
from pi.device_config import InvalidDeviceConfig, parse_device_config
from pi.sources import FolderSource
from pi.state import MqttSettings
from pi.uploader import Uploader
from pi.version import AGENT_VERSION
from tests.agent_helpers import DeviceServer, FakeClock, copy_frames

CONTROL = "/api/v1/control-images/"
UPLOADS = "/api/v1/uploads/"
HEARTBEAT = "/api/v1/devices/heartbeat"
TOPICS = MqttSettings(
    host="127.0.0.1",
    port=1883,
    tls=False,
    client_id="cam-1",
    commands_topic="occupancy/cameras/cam-1/commands",
    broadcast_topic="occupancy/cameras/all/commands",
    config_topic="occupancy/cameras/all/config",
)
START = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
NIGHT = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
FIRST_ID = "4f1c0e2a9b7d4c3e8a6f5d2b1c0e9f8a"


def config_payload(version=3, **changes):
    return {
        "version": version,
        "sampling_interval": 60,
        "opening_hours": [["07:00", "22:00"]],
        "time_zone": "Europe/London",
        "jpeg_quality": 85,
        **changes,
    }


def command(command_id=FIRST_ID, name="capture_control_image"):
    body = {"command": name, "command_id": command_id}
    return json.dumps({**body, "issued_at": "2026-12-03T14:05:00Z"}).encode()


@pytest.fixture
def server():
    server = DeviceServer()
    server.script("POST", HEARTBEAT, (200, config_payload(version=3)))
    yield server
    server.close()


@pytest.fixture
def frames(tmp_path):
    return copy_frames(tmp_path / "frames")


def make_agent(server, tmp_path, clock, applied=None):
    saved = applied if applied is not None else []
    return Agent(
        Uploader(server.url, "device-token"),
        FolderSource(tmp_path / "frames"),
        SnapshotBuffer(tmp_path / "buffer", 10),
        heartbeat_seconds=3600,
        topics=TOPICS,
        config=parse_device_config(config_payload(version=3)),
        clock=clock,
        remember_config=saved.append,
    )


def test_it_posts_a_control_image_when_asked(server, frames, tmp_path, caplog):
    agent = make_agent(server, tmp_path, FakeClock(START))

    with caplog.at_level(logging.INFO, logger="pi.agent"):
        agent.on_message(TOPICS.commands_topic, command())
        agent.step()

    sent = server.received(CONTROL)
    assert len(sent) == 1
    assert sent[0].files["image"] == frames[0]
    assert sent[0].fields["captured_at"] == "2026-12-03T14:05:00Z"
    assert sent[0].headers["Authorization"] == "Token device-token"
    assert "Command received: capture_control_image" in caplog.text


def test_it_takes_a_control_image_outside_opening_hours(server, frames, tmp_path):
    agent = make_agent(server, tmp_path, FakeClock(NIGHT))

    agent.on_message(TOPICS.broadcast_topic, command())
    agent.step()

    assert len(server.received(CONTROL)) == 1
    assert server.received(UPLOADS) == []  # no snapshot at 03:00


def test_it_ignores_a_command_it_has_handled_already(server, frames, tmp_path):
    agent = make_agent(server, tmp_path, FakeClock(START))

    agent.on_message(TOPICS.commands_topic, command("aa" * 16))
    agent.step()
    # QoS 1 may deliver the same message twice, on either topic.
    agent.on_message(TOPICS.commands_topic, command("aa" * 16))
    agent.on_message(TOPICS.broadcast_topic, command("AA" * 16))
    agent.step()
    agent.on_message(TOPICS.broadcast_topic, command("bb" * 16))
    agent.step()

    assert len(server.received(CONTROL)) == 2


@pytest.mark.parametrize(
    "payload",
    [
        command(name="reboot"),
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"command": "capture_control_image"}).encode(),
        json.dumps(
            {
                "command": "capture_control_image",
                "command_id": "../../etc",
                "issued_at": "2026-12-03T14:05:00Z",
            }
        ).encode(),
        command().replace(b"14:05:00Z", b"yesterday"),
        b" " * 70_000,
    ],
)
def test_it_logs_and_ignores_a_bad_or_unknown_command(
    server, frames, tmp_path, caplog, payload
):
    agent = make_agent(server, tmp_path, FakeClock(NIGHT))

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        agent.on_message(TOPICS.commands_topic, payload)
        agent.step()

    assert server.received(CONTROL) == []
    assert "Ignored" in caplog.text


def test_it_logs_a_control_image_the_server_refuses(server, frames, tmp_path, caplog):
    server.script("POST", CONTROL, (400, {"detail": "The file is not a JPEG."}))
    agent = make_agent(server, tmp_path, FakeClock(START))

    agent.on_message(TOPICS.commands_topic, command())
    agent.step()

    assert len(server.received(CONTROL)) == 1
    assert "Cannot send the control image: 400 The file is not a JPEG." in caplog.text


def test_it_applies_a_new_sampling_interval_at_the_next_tick(server, frames, tmp_path):
    applied = []
    clock = FakeClock(START)
    agent = make_agent(server, tmp_path, clock, applied)
    agent.step()  # 14:05:00, with a snapshot a minute

    body = json.dumps(config_payload(version=4, sampling_interval=10)).encode()
    agent.on_message(TOPICS.config_topic, body)
    wait = agent.step()
    clock.advance(wait)
    agent.step()

    assert wait == 10
    assert [u.fields["captured_at"] for u in server.received(UPLOADS)] == [
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:05:10Z",
    ]
    assert agent.config.version == 4
    assert [config.sampling_interval for config in applied] == [10]


def test_it_applies_new_opening_hours_without_a_restart(server, frames, tmp_path):
    clock = FakeClock(START)
    agent = make_agent(server, tmp_path, clock)
    agent.step()

    closed_now = config_payload(version=4, opening_hours=[["18:00", "20:00"]])
    agent.on_message(TOPICS.config_topic, json.dumps(closed_now).encode())
    clock.advance(60)
    agent.step()

    assert len(server.received(UPLOADS)) == 1


@pytest.mark.parametrize("version", [2, 3])
def test_it_ignores_a_configuration_that_is_not_newer(
    server, frames, tmp_path, version
):
    applied = []
    agent = make_agent(server, tmp_path, FakeClock(START), applied)

    body = config_payload(version=version, sampling_interval=5)
    agent.on_message(TOPICS.config_topic, json.dumps(body).encode())

    assert agent.config.sampling_interval == 60
    assert applied == []


@pytest.mark.parametrize(
    "changes",
    [
        {"sampling_interval": 0},
        {"sampling_interval": "60"},
        {"opening_hours": [["07:00", "25:00"]]},
        {"opening_hours": [["7:00", "22:00"]]},
        {"opening_hours": [["07:00", "07:00"]]},
        {"opening_hours": [["24:00", "02:00"]]},
        {"opening_hours": []},
        {"opening_hours": "07:00-22:00"},
        {"time_zone": "Mars/Olympus_Mons"},
        {"time_zone": "/etc/passwd"},
        {"jpeg_quality": 101},
        {"jpeg_quality": True},
        {"version": -1},
    ],
)
def test_it_rejects_a_bad_configuration_and_keeps_the_old_one(
    server, frames, tmp_path, caplog, changes
):
    applied = []
    agent = make_agent(server, tmp_path, FakeClock(START), applied)

    body = json.dumps(config_payload(**{"version": 9, **changes})).encode()
    with caplog.at_level(logging.ERROR, logger="pi.agent"):
        agent.on_message(TOPICS.config_topic, body)

    assert agent.config == parse_device_config(config_payload(version=3))
    assert applied == []
    assert "Rejected the configuration from MQTT" in caplog.text


def test_it_rejects_a_configuration_message_that_is_not_json(
    server, frames, tmp_path, caplog
):
    agent = make_agent(server, tmp_path, FakeClock(START))

    agent.on_message(TOPICS.config_topic, b"{version: 4")

    assert agent.config.version == 3
    assert "Rejected a configuration message: the message is not JSON" in caplog.text


def test_it_ignores_keys_it_does_not_know_in_a_configuration():
    config = parse_device_config(config_payload(version=5, brightness=3))

    assert config.version == 5


def test_it_names_a_missing_key_in_a_configuration():
    body = config_payload()
    del body["time_zone"]

    with pytest.raises(InvalidDeviceConfig, match="time_zone: missing"):
        parse_device_config(body)


def test_it_applies_the_configuration_a_heartbeat_brings(server, frames, tmp_path):
    server.script("POST", HEARTBEAT, (200, config_payload(version=5, jpeg_quality=60)))
    agent = make_agent(server, tmp_path, FakeClock(START))

    agent.step()

    beat = server.received(HEARTBEAT)[0].json()
    assert beat == {
        "agent_version": AGENT_VERSION,
        "config_version": 3,
        "heartbeat_seconds": 3600,
    }
    assert agent.config.version == 5
    assert agent.config.jpeg_quality == 60


def test_it_fetches_the_configuration_when_it_starts(server, frames, tmp_path):
    server.script("GET", "/api/v1/devices/config", (200, config_payload(version=7)))
    agent = make_agent(server, tmp_path, FakeClock(START))

    agent.start()

    assert agent.config.version == 7
    assert server.received("/api/v1/devices/config")[0].headers["Authorization"] == (
        "Token device-token"
    )
