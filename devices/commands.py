"""What administrators ask of cameras: a control image, a configuration."""

from typing import Any

from django.db import transaction

from devices.config import config_payload, update_config
from devices.messaging import PublishFailed, send_capture, send_config
from devices.models import Camera, CaptureRequest


class UnknownCameras(ValueError):
    pass


def request_capture(user: Any, camera_ids: list[str] | None) -> dict[str, Any]:
    """Ask the named cameras (all when None) for a control image.

    Raises UnknownCameras before anything is sent, and PublishFailed when
    the broker cannot be reached.
    """
    if camera_ids is None:
        cameras = list(Camera.objects.all())
    else:
        cameras = list(Camera.objects.filter(pk__in=camera_ids))
        missing = sorted(set(camera_ids) - {camera.pk for camera in cameras})
        if missing:
            raise UnknownCameras("Unknown camera(s): " + ", ".join(missing[:10]))

    sent = send_capture(camera_ids)
    CaptureRequest.objects.bulk_create(
        CaptureRequest(
            camera=camera,
            requested_by=user if user and user.is_authenticated else None,
            command_id=sent["payload"]["command_id"],
        )
        for camera in cameras
    )
    return sent


def apply_config(data: dict[str, Any]) -> dict[str, Any]:
    """Store a new configuration version and publish it.

    When the broker is down the new version is kept all the same, and
    raises PublishFailed: cameras also fetch it with their heartbeat.
    """
    with transaction.atomic():
        config = update_config(**data)
        Camera.objects.update(sampling_interval=config.sampling_interval)
    try:
        return send_config(config_payload(config))
    except PublishFailed as error:
        raise PublishFailed(
            f"Configuration version {config.version} was saved, but {error}; "
            "cameras will pick it up at their next heartbeat."
        )
