"""Commands the server sends cameras over MQTT, and their checks."""

import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

CAPTURE_CONTROL_IMAGE = "capture_control_image"
KNOWN = (CAPTURE_CONTROL_IMAGE,)
LARGEST_MESSAGE = 64 * 1024
_COMMAND_ID = re.compile(r"^[0-9A-Fa-f-]{1,64}$")


class InvalidMessage(ValueError):
    """An MQTT message the agent will not act on."""


@dataclass(frozen=True)
class Command:
    name: str
    command_id: str
    issued_at: datetime


def decode_json(payload: bytes) -> object:
    """The JSON value of an MQTT payload; raises InvalidMessage."""
    if len(payload) > LARGEST_MESSAGE:
        raise InvalidMessage(f"the message is over {LARGEST_MESSAGE} bytes")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise InvalidMessage("the message is not JSON")


def parse_command(payload: bytes) -> Command:
    body = decode_json(payload)
    if not isinstance(body, dict):
        raise InvalidMessage("the command is not a JSON object")
    name, command_id, issued = (
        body.get(key) for key in ("command", "command_id", "issued_at")
    )
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        raise InvalidMessage("command: missing or not a name")
    if not isinstance(command_id, str) or not _COMMAND_ID.match(command_id):
        raise InvalidMessage("command_id: missing or not a hexadecimal id")
    return Command(name, command_id.lower(), _issued_at(issued))


def _issued_at(value: object) -> datetime:
    if not isinstance(value, str) or not value.endswith("Z") or len(value) > 40:
        raise InvalidMessage("issued_at: missing or not an ISO 8601 time in UTC")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidMessage("issued_at: missing or not an ISO 8601 time in UTC")


class SeenIds:
    """The ids of the last commands handled, to ignore QoS 1 duplicates."""

    def __init__(self, remember: int = 1000) -> None:
        self.remember = remember
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, command_id: str) -> bool:
        """Record the id; False when it was seen already."""
        if command_id in self._ids:
            return False
        self._ids[command_id] = None
        if len(self._ids) > self.remember:
            self._ids.popitem(last=False)
        return True
