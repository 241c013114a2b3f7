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


def camera_status(camera: Camera, now: datetime) -> str:
    if camera.last_seen is None:
        return OFFLINE
    silence = now - camera.last_seen
    interval = timedelta(seconds=camera.sampling_interval)
    if silence <= max(interval * STALE_AFTER, MIN_SILENCE):
        return ONLINE
    if silence <= max(interval * OFFLINE_AFTER, MIN_SILENCE * 3):
        return STALE
    return OFFLINE


def record_contact(
    camera: Camera,
    snapshot: bool = False,
    agent_version: str | None = None,
    config_version: int | None = None,
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
    Camera.objects.filter(pk=camera.pk).update(**fields)
