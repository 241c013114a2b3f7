"""The person detector of this process, loaded once and shared."""

import threading
from typing import TYPE_CHECKING, Any

from django.conf import settings

from occupancy_site import aws
from pipeline.detection.base import Box, Detector

if TYPE_CHECKING:
    from pipeline.detection.tiling import PixelDetector

_lock = threading.Lock()
_loaded: dict[tuple[str, float], Detector] = {}


def get_detector() -> Detector:
    if settings.DETECTOR == "rekognition":
        return _rekognition(settings.REKOGNITION_MIN_CONFIDENCE)
    threshold = settings.DETECTOR_SCORE_THRESHOLD
    key = ("ssdlite", threshold)
    with _lock:
        if key not in _loaded:
            # Imported here so that a process which never counts (the web
            # server) does not load OpenCV.
            from pipeline.detection.ssdlite import SSDLiteDetector

            _loaded[key] = SSDLiteDetector(score_threshold=threshold)
        detector = _loaded[key]
    return _tiled(detector, settings.DETECTOR_TILES)  # type: ignore[arg-type]


def _tiled(detector: "PixelDetector", tiles: str) -> Detector:
    if tiles == "off":
        return detector
    # The wrapper holds no model, only the grid: a new one costs nothing,
    # and a change of the setting (in tests, the benchmark) takes effect.
    from pipeline.detection.ssdlite import INPUT_SIDE
    from pipeline.detection.tiling import TiledDetector, TileGrid

    return TiledDetector(detector, TileGrid.parse(tiles), INPUT_SIDE)


def _rekognition(min_confidence: float) -> Detector:
    key = ("rekognition", min_confidence)
    with _lock:
        if key not in _loaded:
            from pipeline.detection.rekognition import RekognitionDetector

            _loaded[key] = RekognitionDetector(
                client_factory=_rekognition_client, min_confidence=min_confidence
            )
        return _loaded[key]


def _rekognition_client() -> Any:
    # The detector retries throttled calls itself, with backoff: botocore
    # makes a single attempt, so that the two do not multiply.
    return aws.client("rekognition", max_attempts=1)


class DetectorTimeout(Exception):
    pass


def detect_within(detector: Detector, image: bytes, seconds: float) -> list[Box]:
    """The detector's answer, or DetectorTimeout after seconds.

    The call runs in a thread of its own: a thread cannot be stopped, so a
    call that hangs is left behind as a daemon, and the snapshot is given
    up on rather than every later one held back with it.
    """
    answer: list[list[Box]] = []
    failure: list[BaseException] = []

    def call() -> None:
        try:
            answer.append(detector.detect(image))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=call, name="detector", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise DetectorTimeout(f"the detector took longer than {seconds:g} s")
    if failure:
        raise failure[0]
    return answer[0]
