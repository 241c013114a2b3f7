"""The agent's configuration file: TOML, checked key by key.

Every mistake raises ConfigError naming the key, so that a typo stops the
agent at start-up with a message that says what to fix. Relative paths are
taken from the folder that holds the configuration file.
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
SOURCES = ("picamera", "webcam", "folder")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
CPUINFO = Path("/proc/cpuinfo")
MACHINE_ID = Path("/etc/machine-id")

_TOP_KEYS = {
    "server_url",
    "enrollment_token",
    "serial",
    "state_path",
    "source",
    "buffer_dir",
    "buffer_size",
    "heartbeat_seconds",
    "log_level",
    *SOURCES,
}
_SOURCE_KEYS = {
    "folder": {"path"},
    "webcam": {"device", "resolution"},
    "picamera": {"resolution"},
}
DEFAULT_RESOLUTION = {"webcam": (1280, 720), "picamera": (1640, 1232)}


class ConfigError(Exception):
    """The configuration file cannot be used as it is."""


@dataclass(frozen=True)
class SourceConfig:
    kind: str
    folder: Path | None = None
    device: int = 0
    resolution: tuple[int, int] = (1280, 720)


@dataclass(frozen=True)
class AgentConfig:
    server_url: str
    enrollment_token: str | None
    serial: str
    state_path: Path
    source: SourceConfig
    buffer_dir: Path
    buffer_size: int
    heartbeat_seconds: int
    log_level: str


def load_config(
    path: Path, cpuinfo: Path = CPUINFO, machine_id: Path = MACHINE_ID
) -> AgentConfig:
    """Read and check the configuration file at path."""
    try:
        with path.open("rb") as file:
            raw = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"Cannot read {path}: {error.strerror}")
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text")
    return parse_config(raw, path.resolve().parent, cpuinfo, machine_id)


def parse_config(
    raw: dict[str, Any],
    base: Path,
    cpuinfo: Path = CPUINFO,
    machine_id: Path = MACHINE_ID,
) -> AgentConfig:
    _reject_unknown(raw, _TOP_KEYS, "")
    serial = _optional_str(raw, "serial")
    if serial is None:
        serial = hardware_serial(cpuinfo, machine_id)
    if not SERIAL.match(serial):
        raise ConfigError(
            "serial: use 1 to 63 letters, digits, - and _, "
            "starting with a letter or digit"
        )
    return AgentConfig(
        server_url=_server_url(raw),
        enrollment_token=_optional_str(raw, "enrollment_token"),
        serial=serial,
        state_path=_path(raw, "state_path", base, "state.json"),
        source=_source(raw, base),
        buffer_dir=_path(raw, "buffer_dir", base, "buffer"),
        buffer_size=_int(raw, "buffer_size", 1000, 1, 1_000_000),
        heartbeat_seconds=_int(raw, "heartbeat_seconds", 60, 10, 86_400),
        log_level=_log_level(raw),
    )


def hardware_serial(cpuinfo: Path = CPUINFO, machine_id: Path = MACHINE_ID) -> str:
    """The Raspberry Pi's serial number, else this machine's id."""
    for line in _read_lines(cpuinfo):
        key, _, value = line.partition(":")
        if key.strip() == "Serial" and value.strip().strip("0"):
            return value.strip()
    lines = _read_lines(machine_id)
    if lines and lines[0].strip():
        return lines[0].strip()
    raise ConfigError(
        f"serial: not set, and neither {cpuinfo} nor {machine_id} gives one"
    )


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def _reject_unknown(table: dict[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        names = ", ".join(prefix + name for name in unknown)
        raise ConfigError(f"{names}: unknown key (known: {', '.join(sorted(known))})")


def _required(table: dict[str, Any], key: str, name: str) -> Any:
    if key not in table:
        raise ConfigError(f"{name}: missing")
    return table[key]


def _optional_str(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: must be a non-empty string")
    return value.strip()


def _server_url(raw: dict[str, Any]) -> str:
    value = _required(raw, "server_url", "server_url")
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("server_url: must be an http:// or https:// URL")
    return value.rstrip("/")


def _path(raw: dict[str, Any], key: str, base: Path, default: str) -> Path:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: must be a path")
    return base / Path(value).expanduser()


def _int(
    table: dict[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    prefix: str = "",
) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{prefix}{key}: must be a whole number")
    if not low <= value <= high:
        raise ConfigError(f"{prefix}{key}: must be between {low} and {high}")
    return value


def _log_level(raw: dict[str, Any]) -> str:
    value = raw.get("log_level", "INFO")
    if not isinstance(value, str) or value.upper() not in LOG_LEVELS:
        raise ConfigError(f"log_level: must be one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _source(raw: dict[str, Any], base: Path) -> SourceConfig:
    kind = _required(raw, "source", "source")
    if kind not in SOURCES:
        raise ConfigError(f"source: must be one of {', '.join(SOURCES)}")
    for name in SOURCES:
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: must be a table ([{name}])")
        _reject_unknown(table, _SOURCE_KEYS[name], f"{name}.")
    options = raw.get(kind, {})
    if kind == "folder":
        folder = _required(options, "path", "folder.path")
        if not isinstance(folder, str) or not folder.strip():
            raise ConfigError("folder.path: must be a path")
        return SourceConfig(kind, folder=base / Path(folder).expanduser())
    resolution = _resolution(options, kind)
    if kind == "picamera":
        return SourceConfig(kind, resolution=resolution)
    device = _int(options, "device", 0, 0, 63, prefix="webcam.")
    return SourceConfig(kind, device=device, resolution=resolution)


def _resolution(options: dict[str, Any], kind: str) -> tuple[int, int]:
    value = options.get("resolution", list(DEFAULT_RESOLUTION[kind]))
    valid = (
        isinstance(value, list)
        and len(value) == 2
        and all(type(side) is int and 16 <= side <= 10_000 for side in value)
    )
    if not valid:
        raise ConfigError(
            f"{kind}.resolution: must be [width, height] in pixels, 16 to 10000"
        )
    return (value[0], value[1])
