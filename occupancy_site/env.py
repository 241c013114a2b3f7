"""Typed readers for configuration taken from environment variables.

Each reader returns the default when the variable is unset or empty, and
raises ImproperlyConfigured naming the variable when its value is unusable,
so that a typo stops the process at start-up rather than at first use.
"""

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_str(name: str, default: str = "") -> str:
    return _raw(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(
    name: str, default: int, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}")
    _check_range(name, number, minimum, maximum)
    return number


def env_float(
    name: str,
    default: float,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}")
    if number != number:  # NaN compares unequal to itself
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}")
    _check_range(name, number, minimum, maximum)
    return number


def env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        allowed = ", ".join(choices)
        raise ImproperlyConfigured(f"{name} must be one of {allowed}, not {value!r}")
    return value


def env_list(name: str, default: Sequence[str] = ()) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return Path(value).expanduser().resolve() if value else default


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name such as Europe/Paris."""
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name} must be a time zone such as Europe/Paris, not {value!r}"
        )
    return value


_ADDRESS = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


def env_address(name: str, default: str) -> str:
    """A HOST:PORT to listen on, e.g. 127.0.0.1:1883."""
    value = env_str(name, default)
    match = _ADDRESS.fullmatch(value)
    if match is None or not 1 <= int(match[2]) <= 65_535:
        raise ImproperlyConfigured(
            f"{name} must be HOST:PORT, e.g. 127.0.0.1:1883, not {value!r}"
        )
    return value


def env_url(name: str, default: str, schemes: Sequence[str]) -> str:
    """A URL with a host and one of the schemes, or empty.

    The value is not repeated in the error: it may hold a password.
    """
    value = env_str(name, default)
    if value and not _is_url(value, schemes):
        raise ImproperlyConfigured(
            f"{name} must be a URL such as {schemes[0]}://host, with a scheme "
            f"among {', '.join(schemes)}"
        )
    return value


def _is_url(value: str, schemes: Sequence[str]) -> bool:
    url = urlsplit(value)
    try:
        url.port  # noqa: B018 - reading the port checks it
    except ValueError:
        return False
    return url.scheme in schemes and bool(url.hostname)


def _check_range(
    name: str,
    number: float,
    minimum: float | None,
    maximum: float | None,
) -> None:
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {number}")
