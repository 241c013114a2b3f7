"""The demo camera that `make run` starts, watching a recorded walkway.

It is the real camera agent (`python -m pi`) with a folder of frames for a
camera: it enrolls with a token on its first start, takes commands over
MQTT and sends a frame every few seconds.
"""

from pathlib import Path

from django.conf import settings
from django.db import transaction

from devices.config import ALWAYS
from devices.enrollment import create_enrollment_token
from devices.models import Camera, CameraConfig
from zones.models import Zone

DEMO_SERIAL = "demo-walkway"
DEMO_CAMERA = f"cam-{DEMO_SERIAL}"
DEMO_INTERVAL = 5
DEMO_ZONES = {
    "West path": [[0.0, 0.26], [0.55, 0.26], [0.55, 0.62], [0.0, 0.45]],
    "East road": [[0.55, 0.2], [1.0, 0.15], [1.0, 0.85], [0.55, 0.62]],
}


@transaction.atomic
def ensure_demo_camera() -> Camera:
    """Create the demo camera and its zones if they are missing."""
    camera, created = Camera.objects.get_or_create(
        pk=DEMO_CAMERA,
        defaults={
            "serial": DEMO_SERIAL,
            "description": "Recorded walkway (OpenCV sample video)",
            "sampling_interval": DEMO_INTERVAL,
        },
    )
    if created:
        for name, polygon in DEMO_ZONES.items():
            Zone.objects.create(camera=camera, name=name, polygon=polygon, capacity=15)
    return camera


def prepare_demo_camera() -> str:
    """The demo camera with a new API token, for code that uploads as it."""
    camera = ensure_demo_camera()
    token = camera.set_new_token()
    camera.save(update_fields=["token_hash"])
    return token


def ensure_demo_config() -> None:
    """Give a fresh installation a configuration that suits the demo.

    A snapshot every few seconds, all day; an existing configuration is
    left as the administrator set it.
    """
    if not CameraConfig.objects.exists():
        CameraConfig.objects.create(
            sampling_interval=DEMO_INTERVAL, opening_hours=ALWAYS
        )


def prepare_demo_agent(server_url: str) -> Path:
    """Write the demo agent's configuration file and return its path."""
    camera = ensure_demo_camera()
    folder = Path(settings.DATA_DIR) / "demo-camera"
    folder.mkdir(exist_ok=True)
    state = folder / "state.json"
    lines = [
        f'server_url = "{server_url}"',
        f'serial = "{DEMO_SERIAL}"',
        'state_path = "state.json"',
        'buffer_dir = "buffer"',
        "buffer_size = 100",
        "heartbeat_seconds = 30",
        'source = "folder"',
    ]
    if not camera.token_hash or not state.exists():
        # A new database, or a lost identity: enroll again.
        state.unlink(missing_ok=True)
        _, token = create_enrollment_token(uses=1, note="demo camera")
        lines.append(f'enrollment_token = "{token}"')
    frames = Path(settings.BASE_DIR) / "demo" / "frames"
    lines += ["", "[folder]", f'path = "{frames}"']
    config = folder / "agent.toml"
    config.write_text("\n".join(lines) + "\n")
    return config
