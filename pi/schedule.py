"""When a camera may take and send snapshots: inside its opening hours."""

from datetime import datetime

from pi.device_config import DeviceConfig


def is_open(config: DeviceConfig, moment: datetime) -> bool:
    """Whether moment (an aware datetime) falls in an opening window.

    Windows are local wall-clock times in the configured time zone, the same
    every day; a window whose end comes before its start runs across
    midnight, and its hours after midnight belong to the next day.
    """
    local = moment.astimezone(config.time_zone)
    second = local.hour * 3600 + local.minute * 60 + local.second
    return any(_inside(second, start, end) for start, end in config.opening_hours)


def _inside(second: int, start: int, end: int) -> bool:
    if start < end:
        return start <= second < end
    return second >= start or second < end
