"""The configuration all cameras apply, and its checks."""

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.db import transaction

from devices.models import CameraConfig

_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
ALWAYS = [["00:00", "24:00"]]


def current_config() -> CameraConfig:
    config = CameraConfig.objects.order_by("pk").first()
    if config is None:
        config = CameraConfig.objects.create(opening_hours=ALWAYS)
    return config


def config_payload(config: CameraConfig) -> dict[str, Any]:
    """The configuration as cameras receive it."""
    return {
        "version": config.version,
        "sampling_interval": config.sampling_interval,
        "opening_hours": config.opening_hours,
        "time_zone": config.time_zone,
        "jpeg_quality": config.jpeg_quality,
    }


def parse_opening_hours(value: Any) -> list[list[str]]:
    """Check a list of ["HH:MM", "HH:MM"] windows.

    A window whose end comes before its start runs across midnight.
    """
    if not isinstance(value, list) or not value or len(value) > 24:
        raise ValidationError("Give 1 to 24 opening windows as [start, end] pairs.")
    windows = []
    for index, window in enumerate(value, start=1):
        if not isinstance(window, list | tuple) or len(window) != 2:
            raise ValidationError(f"Window {index} is not a [start, end] pair.")
        start, end = window
        for moment in (start, end):
            if not isinstance(moment, str) or not _TIME.match(moment):
                raise ValidationError(
                    f"Window {index}: use HH:MM times, 00:00 to 24:00."
                )
        if start == end:
            raise ValidationError(f"Window {index} starts and ends at the same time.")
        windows.append([start, end])
    return windows


def check_time_zone(name: Any) -> str:
    if not isinstance(name, str) or name not in available_timezones():
        raise ValidationError(f"Unknown time zone {str(name)[:64]!r}.")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ValidationError(f"Unknown time zone {name!r}.")
    return name


@transaction.atomic
def update_config(
    sampling_interval: int,
    opening_hours: list[list[str]],
    time_zone: str,
    jpeg_quality: int,
) -> CameraConfig:
    """Store a new version of the configuration; the caller publishes it."""
    config = CameraConfig.objects.select_for_update().order_by("pk").first()
    config = config or CameraConfig(version=0)
    config.version += 1
    config.sampling_interval = sampling_interval
    config.opening_hours = parse_opening_hours(opening_hours)
    config.time_zone = check_time_zone(time_zone)
    config.jpeg_quality = jpeg_quality
    config.full_clean()
    config.save()
    return config
