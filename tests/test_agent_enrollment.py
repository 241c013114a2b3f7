"""A camera's first start: enrollment, and the identity kept for later."""

import json
import logging
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pi.backoff import Backoff
from pi.config import load_config
from pi.enrollment import MAX_RETRY_AFTER, EnrollmentRefused, obtain_state
from pi.state import StateError, load_state
from pi.version import AGENT_VERSION
from tests.agent_helpers import DeviceServer
from tests.process_helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
REGISTER = "/api/v1/devices/register"
TOKEN = "enrol-me"
ENROLLED = {
    "camera_id": "cam-abc123",
    "api_token": "a-device-token",
    "mqtt": {
        "host": "127.0.0.1",
        "port": 1883,
        "tls": False,
        "client_id": "cam-abc123",
        "topics": {
            "commands": "occupancy/cameras/cam-abc123/commands",
            "broadcast": "occupancy/cameras/all/commands",
            "config": "occupancy/cameras/all/config",
        },
    },
}


@pytest.fixture
def server():
    server = DeviceServer()
    server.script("POST", REGISTER, (201, ENROLLED))
    yield server
    server.close()


def write_config(tmp_path: Path, url: str, token: str | None = TOKEN) -> Path:
    (tmp_path / "frames").mkdir(exist_ok=True)
    lines = [
        f'server_url = "{url}"',
        'serial = "abc123"',
        'source = "folder"',
        "[folder]",
        'path = "frames"',
    ]
    if token:
        lines.insert(1, f'enrollment_token = "{token}"')
    path = tmp_path / "agent.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def never_stopped(seconds: float) -> bool:
    return False


def test_it_enrolls_once_and_keeps_its_identity_readable_only_by_itself(
    server, tmp_path
):
    config = load_config(write_config(tmp_path, server.url))

    state = obtain_state(config, never_stopped)

    assert state.identity.camera_id == "cam-abc123"
    assert state.identity.api_token == "a-device-token"
    assert state.identity.mqtt.commands_topic.endswith("cam-abc123/commands")
    body = server.received(REGISTER)[0].json()
    assert body == {
        "token": "enrol-me",
        "serial": "abc123",
        "agent_version": AGENT_VERSION,
    }
    mode = stat.S_IMODE(config.state_path.stat().st_mode)
    assert mode == 0o600
    saved = json.loads(config.state_path.read_text())
    assert saved["enrollment"] == ENROLLED


def test_it_starts_from_the_state_file_without_a_token(server, tmp_path):
    obtain_state(load_config(write_config(tmp_path, server.url)), never_stopped)

    later = load_config(write_config(tmp_path, server.url, token=None))
    state = obtain_state(later, never_stopped)

    assert state.identity.camera_id == "cam-abc123"
    assert len(server.received(REGISTER)) == 1


def test_it_keeps_the_mqtt_certificate_and_key_of_an_aws_enrollment(server, tmp_path):
    certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"
    aws = {
        **ENROLLED,
        "mqtt": {
            **ENROLLED["mqtt"],
            "host": "abc-ats.iot.eu-west-1.amazonaws.com",
            "port": 8883,
            "tls": True,
            "certificate_pem": certificate,
            "private_key": key,
        },
    }
    server.script("POST", REGISTER, (201, aws))
    config = load_config(write_config(tmp_path, server.url))

    obtain_state(config, never_stopped)
    mqtt = load_state(config.state_path).identity.mqtt

    assert (mqtt.tls, mqtt.port) == (True, 8883)
    assert (mqtt.certificate_pem, mqtt.private_key) == (certificate, key)
    assert mqtt.ca_pem is None  # the system's trust store then
    assert stat.S_IMODE(config.state_path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "answer, upload",
    [
        ({**ENROLLED, "upload": "presigned"}, "presigned"),
        ({**ENROLLED, "upload": "direct"}, "direct"),
        # A server from before it said how to upload.
        (ENROLLED, "direct"),
    ],
)
def test_it_keeps_how_the_server_said_to_upload_snapshots(
    server, tmp_path, answer, upload
):
    server.script("POST", REGISTER, (201, answer))
    config = load_config(write_config(tmp_path, server.url))

    state = obtain_state(config, never_stopped)

    assert state.identity.upload == upload
    assert load_state(config.state_path).identity.upload == upload


def test_it_tries_again_while_the_server_cannot_be_reached(server, tmp_path):
    server.script("POST", REGISTER, (503, {"detail": "Unavailable."}), (201, ENROLLED))
    config = load_config(write_config(tmp_path, server.url))
    waits = []

    state = obtain_state(config, lambda seconds: waits.append(seconds) or False)

    assert state.identity.camera_id == "cam-abc123"
    assert len(waits) == 1
    assert len(server.received(REGISTER)) == 2


THROTTLED = {"detail": "Request was throttled. Expected available in 7 seconds."}


@pytest.mark.parametrize(
    "header, low, high",
    [
        ({"Retry-After": "7"}, 7, 7),
        ({"Retry-After": "0"}, 1, 1),  # never hammer the server
        ({"Retry-After": "99999999"}, MAX_RETRY_AFTER, MAX_RETRY_AFTER),
        ({"Retry-After": "soon"}, 1, 2),  # unusable: the backoff decides
        ({}, 1, 2),
    ],
)
def test_it_waits_as_long_as_the_server_asks_when_it_is_busy(
    server, tmp_path, header, low, high
):
    server.script("POST", REGISTER, (429, THROTTLED, header), (201, ENROLLED))
    config = load_config(write_config(tmp_path, server.url))
    waits = []

    state = obtain_state(
        config,
        lambda seconds: waits.append(seconds) or False,
        Backoff(first=2, rng=random.Random(3)),
    )

    assert state.identity.camera_id == "cam-abc123"
    assert len(waits) == 1 and low <= waits[0] <= high, waits
    assert len(server.received(REGISTER)) == 2


def test_it_retries_through_throttling_and_failures_until_enrolled(server, tmp_path):
    server.script(
        "POST",
        REGISTER,
        (429, THROTTLED, {"Retry-After": "3"}),
        (500, {"detail": "Server error."}),
        (502, "Bad gateway"),
        (201, ENROLLED),
    )
    config = load_config(write_config(tmp_path, server.url))
    waits = []

    state = obtain_state(config, lambda seconds: waits.append(seconds) or False)

    assert state.enrollment == ENROLLED
    assert waits[0] == 3 and len(waits) == 3
    assert load_state(config.state_path).identity.camera_id == "cam-abc123"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_it_stops_at_once_on_another_client_error(server, tmp_path, status):
    server.script("POST", REGISTER, (status, {"detail": "serial: Use letters."}))
    config = load_config(write_config(tmp_path, server.url))

    with pytest.raises(EnrollmentRefused) as refused:
        obtain_state(config, never_stopped)

    assert str(refused.value) == f"serial: Use letters. (status {status})"
    assert len(server.received(REGISTER)) == 1
    assert not config.state_path.exists()


def test_it_gives_up_waiting_when_asked_to_stop(tmp_path):
    config = load_config(write_config(tmp_path, f"http://127.0.0.1:{free_port()}"))

    assert obtain_state(config, lambda seconds: True) is None
    assert not config.state_path.exists()


@pytest.mark.parametrize(
    "answer",
    [
        {"camera_id": "cam-abc123"},
        {**ENROLLED, "api_token": "two words"},
        {**ENROLLED, "mqtt": {**ENROLLED["mqtt"], "port": "1883"}},
        {**ENROLLED, "mqtt": {**ENROLLED["mqtt"], "topics": {"commands": "a/#"}}},
        {**ENROLLED, "mqtt": {**ENROLLED["mqtt"], "tls": True}},
        {**ENROLLED, "upload": "ftp"},
        {**ENROLLED, "upload": ["presigned"]},
        ["cam-abc123"],
    ],
)
def test_it_does_not_keep_an_unusable_enrollment_answer(server, tmp_path, answer):
    server.script("POST", REGISTER, (201, answer), (201, ENROLLED))
    config = load_config(write_config(tmp_path, server.url))

    state = obtain_state(config, never_stopped)

    assert len(server.received(REGISTER)) == 2
    assert state.enrollment == ENROLLED


def test_it_refuses_to_start_unenrolled_without_a_token(server, tmp_path):
    config = load_config(write_config(tmp_path, server.url, token=None))

    with pytest.raises(EnrollmentRefused, match="no enrollment_token"):
        obtain_state(config, never_stopped)
    assert server.requests == []


def test_it_tightens_a_state_file_others_can_read(server, tmp_path, caplog):
    config = load_config(write_config(tmp_path, server.url))
    obtain_state(config, never_stopped)
    config.state_path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="pi.state"):
        load_state(config.state_path)

    assert stat.S_IMODE(config.state_path.stat().st_mode) == 0o600
    assert "was readable by others" in caplog.text


def test_it_refuses_a_damaged_state_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"enrollment": {"camera_id": ')

    with pytest.raises(StateError, match="delete it and start again"):
        load_state(path)


def run_agent(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pi", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "reason",
    [
        "The enrollment token has expired.",
        "The enrollment token has been used up.",
        "The enrollment token is not valid.",
    ],
)
def test_it_exits_with_status_2_when_enrollment_is_refused(server, tmp_path, reason):
    server.script("POST", REGISTER, (403, {"detail": reason}))

    done = run_agent(write_config(tmp_path, server.url))

    assert done.returncode == 2
    assert f"Enrollment refused: {reason}" in done.stderr
    assert not (tmp_path / "state.json").exists()
    assert len(server.received(REGISTER)) == 1


def test_its_process_outlasts_a_throttled_registration(server, tmp_path):
    server.script(
        "POST", REGISTER, (429, THROTTLED, {"Retry-After": "1"}), (201, ENROLLED)
    )

    # Its frames folder is empty: once enrolled, it stops on the camera.
    done = run_agent(write_config(tmp_path, server.url))

    assert "The server cannot enroll the camera now (status 429" in done.stderr
    assert "Enrolled as camera cam-abc123" in done.stderr
    assert "Enrollment refused" not in done.stderr
    assert len(server.received(REGISTER)) == 2


def test_it_exits_with_status_2_on_a_bad_config_file(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text('server_url = "http://127.0.0.1:1"\nsource = "phone"\n')

    done = run_agent(path)

    assert done.returncode == 2
    assert "source: must be one of picamera, webcam, folder" in done.stderr


def test_it_exits_with_status_2_when_the_folder_has_no_frames(server, tmp_path):
    config = write_config(tmp_path, server.url)  # its frames folder is empty

    done = run_agent(config)

    assert done.returncode == 2
    assert "Cannot use the camera: no *.jpg files in" in done.stderr
    assert (tmp_path / "state.json").exists()  # enrolled all the same


def test_it_exits_with_status_1_when_a_webcam_is_missing(server, tmp_path):
    config = write_config(tmp_path, server.url)
    text = config.read_text().replace('source = "folder"', 'source = "webcam"')
    config.write_text(text + "[webcam]\ndevice = 63\n")

    done = run_agent(config)

    # Not 2: the service manager starts it again, the camera may be back.
    assert done.returncode == 1
    assert "Cannot open the camera: cannot open webcam 63" in done.stderr
