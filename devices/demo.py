"""The demo camera that `make run` starts, watching a recorded walkway."""

from django.db import transaction

from devices.models import Camera
from zones.models import Zone

DEMO_CAMERA = "demo-walkway"
DEMO_INTERVAL = 5
DEMO_ZONES = {
    "West path": [[0.0, 0.26], [0.55, 0.26], [0.55, 0.62], [0.0, 0.45]],
    "East road": [[0.55, 0.2], [1.0, 0.15], [1.0, 0.85], [0.55, 0.62]],
}


@transaction.atomic
def prepare_demo_camera() -> str:
    """Create the demo camera and its zones if missing; return a new token.

    The token is replaced at every start because only its digest is kept.
    """
    camera, created = Camera.objects.get_or_create(
        pk=DEMO_CAMERA,
        defaults={
            "description": "Recorded walkway (OpenCV sample video)",
            "sampling_interval": DEMO_INTERVAL,
        },
    )
    if created:
        for name, polygon in DEMO_ZONES.items():
            Zone.objects.create(camera=camera, name=name, polygon=polygon, capacity=15)
    token = camera.set_new_token()
    camera.save(update_fields=["token_hash"])
    return token
