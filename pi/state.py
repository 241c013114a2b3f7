"""The camera's identity, kept between starts in one JSON file.

The file holds the server's answer to the enrollment (camera id, API token,
MQTT details with the certificate and private key on AWS, how to upload
snapshots) and the last configuration applied. It is a secret: it is
written with mode 0600, under a temporary name renamed into place, so that
it is never half-written and never readable by another user.
"""

import json
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pi.uploader import DIRECT, UPLOAD_MODES

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")
_TOPIC_NAMES = ("commands", "broadcast", "config")


class StateError(Exception):
    """The state file or the enrollment answer cannot be used."""


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    tls: bool
    client_id: str
    commands_topic: str
    broadcast_topic: str
    config_topic: str
    certificate_pem: str | None = None
    private_key: str | None = None
    ca_pem: str | None = None


@dataclass(frozen=True)
class Identity:
    camera_id: str
    api_token: str
    # None when the server offers no MQTT: the camera then learns its
    # configuration from heartbeats alone and cannot take commands.
    mqtt: MqttSettings | None
    # DIRECT or PRESIGNED, as the server said.
    upload: str = DIRECT


@dataclass(frozen=True)
class State:
    identity: Identity
    enrollment: dict[str, Any]
    config: dict[str, Any] | None = None


def parse_enrollment(body: object) -> Identity:
    """Check the server's answer to a registration."""
    if not isinstance(body, dict):
        raise StateError("the enrollment answer is not a JSON object")
    camera_id = _text(body, "camera_id", 63)
    token = body.get("api_token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise StateError("api_token: missing or not a token")
    mqtt = body.get("mqtt")
    return Identity(
        camera_id, token, None if mqtt is None else _mqtt(mqtt), _upload(body)
    )


def _upload(body: dict[str, Any]) -> str:
    # A server from before the field existed takes snapshots directly.
    value = body.get("upload", DIRECT)
    if value not in UPLOAD_MODES:
        raise StateError(f"upload: must be one of {', '.join(UPLOAD_MODES)}")
    return value


def load_state(path: Path) -> State | None:
    """The saved state, or None when the camera has not enrolled yet."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateError(f"cannot read {path}: {error.strerror}")
    _tighten(path)
    try:
        raw = json.loads(text)
        identity = parse_enrollment(raw["enrollment"])
    except (ValueError, KeyError, TypeError, StateError) as error:
        raise StateError(
            f"{path} is damaged ({error}); delete it and start again with an "
            "enrollment token"
        )
    config = raw.get("config")
    return State(
        identity, raw["enrollment"], config if isinstance(config, dict) else None
    )


def save_state(path: Path, state: State) -> None:
    """Write the state atomically, readable only by this user."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    body = {"enrollment": state.enrollment, "config": state.config}
    # mkstemp creates the file with mode 0600 before a byte is written.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".state-")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(body, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _tighten(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "%s was readable by others (mode %o): setting it to 600", path, mode
        )
        path.chmod(0o600)


def _mqtt(raw: object) -> MqttSettings:
    if not isinstance(raw, dict):
        raise StateError("mqtt: not a JSON object")
    port = raw.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise StateError("mqtt.port: not a port number")
    tls = raw.get("tls")
    if not isinstance(tls, bool):
        raise StateError("mqtt.tls: must be true or false")
    topics = raw.get("topics")
    if not isinstance(topics, dict):
        raise StateError("mqtt.topics: not a JSON object")
    settings = MqttSettings(
        _text(raw, "host", 253, "mqtt."),
        port,
        tls,
        _text(raw, "client_id", 128, "mqtt."),
        *(_topic(topics, name) for name in _TOPIC_NAMES),
    )
    if not tls:
        return settings
    return replace(
        settings,
        certificate_pem=_pem(raw, "certificate_pem"),
        private_key=_pem(raw, "private_key"),
        ca_pem=_pem(raw, "ca_pem") if raw.get("ca_pem") else None,
    )


def _text(raw: dict[str, Any], key: str, longest: int, prefix: str = "") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise StateError(
            f"{prefix}{key}: missing or not a string of 1 to {longest} characters"
        )
    if any(ord(character) < 0x21 for character in value):
        raise StateError(f"{prefix}{key}: contains spaces or control characters")
    return value


def _topic(topics: dict[str, Any], name: str) -> str:
    value = _text(topics, name, 256, "mqtt.topics.")
    # The agent subscribes to exactly the topics it was given: a wildcard
    # would hand it other cameras' commands.
    if "+" in value or "#" in value:
        raise StateError(f"mqtt.topics.{name}: wildcards are not allowed")
    return value


def _pem(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or "-----BEGIN " not in value:
        raise StateError(f"mqtt.{key}: missing or not PEM text")
    return value
