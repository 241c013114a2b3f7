"""The person detector of this process, loaded once and shared."""

import threading

from django.conf import settings

from pipeline.detection.base import Detector

_lock = threading.Lock()
_loaded: dict[tuple[str, float], Detector] = {}


def get_detector() -> Detector:
    threshold = settings.DETECTOR_SCORE_THRESHOLD
    key = ("ssdlite", threshold)
    with _lock:
        if key not in _loaded:
            # Imported here so that a process which never counts (the web
            # server) does not load OpenCV.
            from pipeline.detection.ssdlite import SSDLiteDetector

            _loaded[key] = SSDLiteDetector(score_threshold=threshold)
        return _loaded[key]
