"""The camera agent's MQTT connection against a real broker (amqtt)."""

import ipaddress
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pi.agent import Agent
from pi.buffer import SnapshotBuffer
from pi.device_config import STARTING_CONFIG
from pi.mqtt import DeviceChannel
from pi.sources import FolderSource
from pi.state import MqttSettings, parse_enrollment
from pi.uploader import Uploader
from tests.agent_helpers import (
    DeviceServer,
    EmbeddedBroker,
    FakeClock,
    Publisher,
    copy_frames,
    wait_for,
)

CONFIG = {
    "version": 3,
    "sampling_interval": 30,
    "opening_hours": [["07:00", "22:00"]],
    "time_zone": "Europe/London",
    "jpeg_quality": 80,
}


def settings_for(port: int, camera: str = "cam-1", **tls: object) -> MqttSettings:
    answer = {
        "camera_id": camera,
        "api_token": "device-token",
        "mqtt": {
            "host": tls.pop("host", "127.0.0.1"),
            "port": port,
            "tls": bool(tls),
            "client_id": camera,
            "topics": {
                "commands": f"occupancy/cameras/{camera}/commands",
                "broadcast": "occupancy/cameras/all/commands",
                "config": "occupancy/cameras/all/config",
            },
            **tls,
        },
    }
    settings = parse_enrollment(answer).mqtt
    assert settings is not None
    return settings


def command(command_id: str | None = None) -> dict:
    return {
        "command": "capture_control_image",
        "command_id": command_id or secrets.token_hex(16),
        "issued_at": "2026-12-03T14:05:00Z",
    }


class Inbox:
    """What a channel hands on, for the test thread to look at."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.messages.append((topic, json.loads(payload)))

    def bodies(self, topic: str) -> list[dict]:
        with self.lock:
            return [body for t, body in self.messages if t == topic]


@pytest.fixture
def broker():
    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.close()


@pytest.fixture
def channels():
    opened: list[DeviceChannel] = []
    yield opened
    for channel in opened:
        channel.close()


@pytest.fixture
def publisher(broker):
    publisher = Publisher(broker.port)
    yield publisher
    publisher.close()


def open_channel(channels, settings, on_message) -> DeviceChannel:
    channel = DeviceChannel(settings, on_message, reconnect_seconds=(1, 2))
    channels.append(channel)
    channel.start()
    return channel


def test_it_receives_the_retained_config_and_both_command_topics(
    broker, publisher, channels
):
    settings = settings_for(broker.port)
    publisher.publish(settings.config_topic, CONFIG, retain=True)
    inbox = Inbox()

    channel = open_channel(channels, settings, inbox)
    assert channel.connected.wait(10)
    wait_for(lambda: inbox.bodies(settings.config_topic))
    publisher.publish(settings.commands_topic, command("01" * 16))
    publisher.publish(settings.broadcast_topic, command("02" * 16))
    publisher.publish("occupancy/cameras/cam-2/commands", command("03" * 16))

    wait_for(lambda: len(inbox.messages) >= 3)
    assert inbox.bodies(settings.config_topic) == [CONFIG]
    ids = [body["command_id"] for _, body in inbox.messages if "command" in body]
    assert sorted(ids) == ["01" * 16, "02" * 16]


def test_it_subscribes_again_after_the_broker_restarts(broker, publisher, channels):
    settings = settings_for(broker.port)
    inbox = Inbox()
    channel = open_channel(channels, settings, inbox)
    assert channel.connected.wait(10)

    broker.stop()
    broker.start()

    # The broker lost every session: the message gets through only once the
    # channel has reconnected and subscribed again, so keep sending.
    def delivered() -> bool:
        publisher.publish(settings.commands_topic, command())
        return bool(inbox.bodies(settings.commands_topic))

    wait_for(delivered)
    publisher.publish(settings.config_topic, CONFIG, retain=True)
    wait_for(lambda: inbox.bodies(settings.config_topic))


def test_it_keeps_trying_until_the_broker_is_up(channels):
    broker = EmbeddedBroker()
    try:
        settings = settings_for(broker.port)
        inbox = Inbox()
        channel = open_channel(channels, settings, inbox)
        assert not channel.connected.wait(0.5)

        broker.start()
        assert channel.connected.wait(20)
        publisher = Publisher(broker.port)
        publisher.publish(settings.commands_topic, command("0c" * 16))
        publisher.close()

        wait_for(lambda: inbox.bodies(settings.commands_topic))
    finally:
        channels.pop().close()
        broker.close()


def test_it_hands_commands_and_config_to_the_agent(
    broker, publisher, channels, tmp_path
):
    frames = copy_frames(tmp_path / "frames")
    server = DeviceServer()
    settings = settings_for(broker.port)
    night = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    agent = Agent(
        Uploader(server.url, "device-token"),
        FolderSource(tmp_path / "frames"),
        SnapshotBuffer(tmp_path / "buffer", 10),
        heartbeat_seconds=3600,
        topics=settings,
        config=STARTING_CONFIG,
        clock=FakeClock(night),
    )
    publisher.publish(settings.config_topic, CONFIG, retain=True)
    try:
        open_channel(channels, settings, agent.on_message)
        wait_for(lambda: agent.config.version == 3)
        publisher.publish(settings.commands_topic, command())
        wait_for(lambda: not agent.commands.empty())
        agent.step()

        sent = server.received("/api/v1/control-images/")
        assert [request.files["image"] for request in sent] == frames[:1]
        assert agent.config.sampling_interval == 30
        assert server.received("/api/v1/uploads/") == []  # closed at 03:00
    finally:
        server.close()


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _certificate(name, key, issuer, issuer_key, ca=False, hosts=()) -> str:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(hosts), False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def pki(tmp_path):
    """A certificate authority, a broker certificate and a camera's."""
    ca_key, broker_key, camera_key = _key(), _key(), _key()
    ca = _certificate("Test CA", ca_key, "Test CA", ca_key, ca=True)
    hosts = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    files = {
        "cafile": ca,
        "certfile": _certificate("broker", broker_key, "Test CA", ca_key, hosts=hosts),
        "keyfile": _pem_key(broker_key),
    }
    for name, text in files.items():
        Path(tmp_path / name).write_text(text)
    return {
        "broker": {"ssl": True, **{name: str(tmp_path / name) for name in files}},
        "camera": {
            "certificate_pem": _certificate("cam-1", camera_key, "Test CA", ca_key),
            "private_key": _pem_key(camera_key),
            "ca_pem": ca,
        },
    }


def test_it_connects_with_mutual_tls_using_the_enrollment_certificate(pki, channels):
    broker = EmbeddedBroker(tls=pki["broker"])
    broker.start()
    try:
        settings = settings_for(broker.port, host="localhost", **pki["camera"])
        inbox = Inbox()
        channel = open_channel(channels, settings, inbox)
        assert channel.connected.wait(10)
        # The broker saw the camera's certificate, signed by its CA.
        peers = wait_for(broker.client_certificates)
        assert peers[0]["subject"] == ((("commonName", "cam-1"),),)
    finally:
        channels.pop().close()
        broker.close()
