from pathlib import Path

from django.core.files.storage import storages

from devices.models import Camera
from pipeline.storage import walk

IMAGES = Path(__file__).parent / "images"
WHOLE_PICTURE = [[0, 0], [1, 0], [1, 1], [0, 1]]


def image_bytes(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def make_camera(name: str, interval: int = 60) -> tuple[Camera, str]:
    camera = Camera(id=name, sampling_interval=interval)
    token = camera.set_new_token()
    camera.save()
    return camera, token


def stored(alias: str) -> list[str]:
    return sorted(walk(storages[alias]))
