"""Where snapshots come from: a Pi camera, a webcam or a folder of JPEGs.

picamera2 and OpenCV are imported only when their source is chosen: a Pi
that uses its camera module needs no OpenCV, and a test box no picamera2.
"""

import io
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from pi.config import SourceConfig

logger = logging.getLogger(__name__)

PICAMERA_MISSING = (
    "picamera2 is not installed: apt install python3-picamera2 and create "
    "the virtualenv with --system-site-packages"
)
OPENCV_MISSING = (
    "OpenCV is not installed: to use a webcam, pip install "
    "opencv-python-headless at the version in requirements/constraints.txt"
)


class SourceError(Exception):
    """The source cannot give a picture, for now at least."""


class SourceUnusable(SourceError):
    """The source cannot work as installed or configured: an operator must
    act (install a package, fill a folder)."""


class Source(Protocol):
    def capture(self, jpeg_quality: int) -> bytes: ...

    def close(self) -> None: ...


class FolderSource:
    """The JPEG files of a folder, sorted by name, in an endless loop.

    A stand-in for a camera on a machine without one. The files are sent as
    they are, whatever the configured quality.
    """

    def __init__(self, folder: Path) -> None:
        self.frames = sorted(folder.glob("*.jpg"))
        if not self.frames:
            raise SourceUnusable(f"no *.jpg files in {folder}")
        self._next: Iterator[Path] = itertools.cycle(self.frames)

    def capture(self, jpeg_quality: int) -> bytes:
        frame = next(self._next)
        try:
            return frame.read_bytes()
        except OSError as error:
            raise SourceError(f"cannot read {frame}: {error.strerror}")

    def close(self) -> None:
        pass


class WebcamSource:
    """A V4L2 camera through OpenCV."""

    def __init__(self, device: int, resolution: tuple[int, int]) -> None:
        try:
            import cv2
        except ImportError:
            raise SourceUnusable(OPENCV_MISSING)
        self.cv2 = cv2
        self.device = device
        self.resolution = resolution
        self.capture_device: Any = None
        self._open()

    def _open(self) -> None:
        device = self.cv2.VideoCapture(self.device)
        if not device.isOpened():
            device.release()
            raise SourceError(f"cannot open webcam {self.device}")
        width, height = self.resolution
        device.set(self.cv2.CAP_PROP_FRAME_WIDTH, width)
        device.set(self.cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.capture_device = device

    def capture(self, jpeg_quality: int) -> bytes:
        if self.capture_device is None:
            self._open()
        # The driver queues a few frames; the first read can be stale.
        self.capture_device.grab()
        ok, frame = self.capture_device.read()
        if not ok:
            # Unplugged or stalled: reopen at the next capture.
            self.close()
            raise SourceError(f"webcam {self.device} gave no frame")
        quality = [self.cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        ok, encoded = self.cv2.imencode(".jpg", frame, quality)
        if not ok:
            raise SourceError("cannot encode the webcam frame as JPEG")
        return encoded.tobytes()

    def close(self) -> None:
        if self.capture_device is not None:
            self.capture_device.release()
            self.capture_device = None


class PiCameraSource:
    """The Raspberry Pi camera module through picamera2 (libcamera)."""

    def __init__(self, resolution: tuple[int, int]) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise SourceUnusable(PICAMERA_MISSING)
        try:
            self.camera = Picamera2()
            config = self.camera.create_still_configuration(main={"size": resolution})
            self.camera.configure(config)
            self.camera.start()
        except Exception as error:
            # picamera2 raises plain exceptions (RuntimeError, IndexError
            # when no camera is attached); all mean the same here.
            raise SourceError(f"cannot start the Pi camera: {error}")

    def capture(self, jpeg_quality: int) -> bytes:
        self.camera.options["quality"] = jpeg_quality
        buffer = io.BytesIO()
        try:
            self.camera.capture_file(buffer, format="jpeg")
        except Exception as error:
            raise SourceError(f"the Pi camera gave no picture: {error}")
        return buffer.getvalue()

    def close(self) -> None:
        try:
            self.camera.close()
        except Exception:
            logger.exception("Closing the Pi camera failed")


def open_source(config: SourceConfig) -> Source:
    """The source the configuration names; raises SourceError."""
    if config.kind == "folder":
        assert config.folder is not None
        return FolderSource(config.folder)
    if config.kind == "webcam":
        return WebcamSource(config.device, config.resolution)
    return PiCameraSource(config.resolution)
