"""The configuration the server gives every camera, and its checks.

It arrives over MQTT (a retained message), in the answer to a heartbeat and
from GET /api/v1/devices/config. All three come from outside, so every field
is checked before the agent applies any of it.
"""

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIME = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")
_FIELDS = ("version", "sampling_interval", "opening_hours", "time_zone")
DAY = 24 * 3600
MAX_WINDOWS = 24


class InvalidDeviceConfig(ValueError):
    """A configuration from the server that the agent will not apply."""


@dataclass(frozen=True)
class DeviceConfig:
    # None until the server's configuration has been applied once.
    version: int | None
    sampling_interval: int
    # (start, end) in seconds after local midnight; end may be 24:00.
    opening_hours: tuple[tuple[int, int], ...]
    time_zone: ZoneInfo
    jpeg_quality: int

    def as_payload(self) -> dict[str, Any]:
        """The configuration in the shape the server sends it."""
        return {
            "version": self.version,
            "sampling_interval": self.sampling_interval,
            "opening_hours": [
                [_hhmm(start), _hhmm(end)] for start, end in self.opening_hours
            ],
            "time_zone": self.time_zone.key,
            "jpeg_quality": self.jpeg_quality,
        }


# What a camera does before it has ever heard from the server: a snapshot a
# minute, all day. The server's configuration replaces it at the first
# contact.
STARTING_CONFIG = DeviceConfig(
    version=None,
    sampling_interval=60,
    opening_hours=((0, DAY),),
    time_zone=ZoneInfo("UTC"),
    jpeg_quality=85,
)


def parse_device_config(payload: object) -> DeviceConfig:
    """Check a decoded JSON configuration; raise InvalidDeviceConfig.

    Keys this agent does not know are ignored, so that a newer server can
    add some without silencing older cameras.
    """
    if not isinstance(payload, dict):
        raise InvalidDeviceConfig("the configuration is not a JSON object")
    missing = [name for name in (*_FIELDS, "jpeg_quality") if name not in payload]
    if missing:
        raise InvalidDeviceConfig(f"{', '.join(missing)}: missing")
    return DeviceConfig(
        version=_whole(payload, "version", 0, 2**31),
        sampling_interval=_whole(payload, "sampling_interval", 1, 86_400),
        opening_hours=parse_opening_hours(payload["opening_hours"]),
        time_zone=_time_zone(payload["time_zone"]),
        jpeg_quality=_whole(payload, "jpeg_quality", 10, 100),
    )


def parse_opening_hours(value: object) -> tuple[tuple[int, int], ...]:
    """Turn [["07:00", "22:00"], ...] into windows in seconds of the day."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_WINDOWS:
        raise InvalidDeviceConfig(
            f"opening_hours: give 1 to {MAX_WINDOWS} [start, end] windows"
        )
    windows = []
    for number, window in enumerate(value, start=1):
        if not isinstance(window, list) or len(window) != 2:
            raise InvalidDeviceConfig(f"opening_hours: window {number} is not a pair")
        start, end = (_seconds(moment, number) for moment in window)
        if start == DAY:
            raise InvalidDeviceConfig(
                f"opening_hours: window {number} cannot start at 24:00"
            )
        if start == end:
            raise InvalidDeviceConfig(
                f"opening_hours: window {number} starts and ends at the same time"
            )
        windows.append((start, end))
    return tuple(windows)


def _seconds(moment: object, number: int) -> int:
    match = _TIME.match(moment) if isinstance(moment, str) else None
    if match is None:
        raise InvalidDeviceConfig(
            f"opening_hours: window {number} needs HH:MM times from 00:00 to 24:00"
        )
    hours, minutes = (int(part) for part in match.groups() if part is not None)
    return hours * 3600 + minutes * 60


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _whole(payload: dict[str, Any], key: str, low: int, high: int) -> int:
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDeviceConfig(f"{key}: must be a whole number")
    if not low <= value <= high:
        raise InvalidDeviceConfig(f"{key}: must be between {low} and {high}")
    return value


def _time_zone(value: object) -> ZoneInfo:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise InvalidDeviceConfig("time_zone: must be a time zone name")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError covers names that are not shaped like a key (absolute
        # paths, files that are not time zones).
        raise InvalidDeviceConfig(f"time_zone: unknown time zone {value!r}")
