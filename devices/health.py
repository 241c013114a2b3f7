"""Whether a camera is in touch: online, stale or offline."""

from datetime import datetime, timedelta

from django.utils import timezone

from devices.models import Camera

ONLINE = "online"
STALE = "stale"
OFFLINE = "offline"
# A camera that missed this many sampling intervals is stale, and this
# many more, offline.
STALE_AFTER = 3
OFFLINE_AFTER = 10
# Heartbeats come at least this often, whatever the sampling interval.
MIN_SILENCE = timedelta(minutes=2)
# Outside opening hours heartbeats are all a camera sends. One late or lost
# heartbeat is a hiccup; silence for this many periods makes it stale, and
# for this many, offline.
STALE_AFTER_HEARTBEATS = 2
OFFLINE_AFTER_HEARTBEATS = 5


def camera_status(camera: Camera, now: datetime) -> str:
    if camera.last_seen is None:
        return OFFLINE
    silence = now - camera.last_seen
    online_for, stale_for = silence_limits(camera)
    if silence <= online_for:
        return ONLINE
    if silence <= stale_for:
        return STALE
    return OFFLINE


def silence_limits(camera: Camera) -> tuple[timedelta, timedelta]:
    """How long the camera may be silent and still be online, or stale.

    The longer of two rules: snapshots every sampling interval, and the
    heartbeat period the camera itself reported.
    """
    interval = timedelta(seconds=camera.sampling_interval)
    online_for = max(interval * STALE_AFTER, MIN_SILENCE)
    stale_for = max(interval * OFFLINE_AFTER, MIN_SILENCE * 3)
    if camera.heartbeat_seconds:
        period = timedelta(seconds=camera.heartbeat_seconds)
        online_for = max(online_for, period * STALE_AFTER_HEARTBEATS)
        stale_for = max(stale_for, period * OFFLINE_AFTER_HEARTBEATS)
    return online_for, stale_for


def record_contact(
    camera: Camera,
    snapshot: bool = False,
    agent_version: str | None = None,
    config_version: int | None = None,
    heartbeat_seconds: int | None = None,
) -> None:
    """Note that the camera was heard from, in one UPDATE."""
    now = timezone.now()
    fields = {"last_seen": now}
    if snapshot:
        fields["last_snapshot_at"] = now
    if agent_version is not None:
        fields["agent_version"] = agent_version[:32]
    if config_version is not None:
        fields["config_version"] = config_version
    if heartbeat_seconds is not None:
        fields["heartbeat_seconds"] = heartbeat_seconds
    Camera.objects.filter(pk=camera.pk).update(**fields)
