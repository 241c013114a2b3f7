"""People found by Amazon Rekognition's DetectLabels.

Only the Person label is asked for, through the label inclusion filter:
with a plain cap on the number of labels, "Person" can be crowded out by
"Clothing", "Chair" and the like, and a full room then counts as empty.
Each instance of the label is one person with a bounding box.
"""

from __future__ import annotations

import io
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from botocore import exceptions as botocore_errors
from botocore.exceptions import ClientError
from PIL import Image

from pipeline.detection.base import Box, UnreadableImage

logger = logging.getLogger(__name__)

PERSON = "Person"
# DetectLabels takes at most 5 MB of image bytes in the request.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# A larger picture is shrunk to this longest side, plenty for people.
SHRUNK_SIDE = 2048
# Answers worth another try, after a pause that doubles each time: the
# service's throttling and its own failures, and trouble on the network.
RETRY_REASONS = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailableException",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
}
TRANSIENT_ERRORS = (botocore_errors.ConnectionError, botocore_errors.HTTPClientError)
UNREADABLE_CODES = {
    "InvalidImageFormatException",
    "ImageTooLargeException",
    "InvalidParameterException",
}


class RekognitionDetector:
    """Finds people with DetectLabels.

    client_factory returns a boto3 Rekognition client; it is called for
    every image so that the process-wide client can be replaced. Retries
    are done here, with backoff, and not by botocore as well.
    """

    name = "rekognition"

    def __init__(
        self,
        client_factory: Callable[[], Any],
        min_confidence: float = 60.0,
        max_attempts: int = 5,
        base_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < min_confidence <= 100:
            raise ValueError(
                f"min_confidence must be in (0, 100], got {min_confidence}"
            )
        self.client_factory = client_factory
        self.min_confidence = min_confidence
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.sleep = sleep

    def detect(self, image: bytes) -> list[Box]:
        reply = self._call(request(fit_for_rekognition(image), self.min_confidence))
        return people(reply, self.min_confidence)

    def _call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        client = self.client_factory()
        attempt = 1
        while True:
            try:
                return client.detect_labels(**arguments)
            except (ClientError, *TRANSIENT_ERRORS) as error:
                reason = _error_code(error)
                if reason in UNREADABLE_CODES:
                    raise UnreadableImage(f"Rekognition refused the image: {reason}")
                if reason not in RETRY_REASONS or attempt >= self.max_attempts:
                    raise
            self._pause(attempt, reason)
            attempt += 1

    def _pause(self, attempt: int, reason: str) -> None:
        # Full jitter: concurrent Lambdas that were throttled together do
        # not come back together.
        delay = random.uniform(0, self.base_delay * 2 ** (attempt - 1))
        logger.warning(
            "Rekognition answered %s; trying again in %.2f s (attempt %d of %d)",
            reason,
            delay,
            attempt + 1,
            self.max_attempts,
        )
        self.sleep(delay)


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "")
    return type(error).__name__


def request(image: bytes, min_confidence: float) -> dict[str, Any]:
    """The DetectLabels arguments for one image."""
    return {
        "Image": {"Bytes": image},
        "MinConfidence": min_confidence,
        "Features": ["GENERAL_LABELS"],
        "Settings": {"GeneralLabels": {"LabelInclusionFilters": [PERSON]}},
    }


def people(reply: dict[str, Any], min_confidence: float) -> list[Box]:
    """The boxes of the Person instances of a DetectLabels reply."""
    boxes = []
    for label in reply.get("Labels", []):
        if label.get("Name") != PERSON:
            continue
        for instance in label.get("Instances", []):
            box = _box(instance)
            if box is not None and box.score * 100 >= min_confidence:
                boxes.append(box)
    return boxes


def _box(instance: dict[str, Any]) -> Box | None:
    try:
        frame = instance["BoundingBox"]
        left, top = float(frame["Left"]), float(frame["Top"])
        width, height = float(frame["Width"]), float(frame["Height"])
        score = float(instance["Confidence"]) / 100
    except (KeyError, TypeError, ValueError):
        logger.warning("Skipped a Person instance without a usable box: %r", instance)
        return None
    x1, y1 = _clip(left), _clip(top)
    x2, y2 = _clip(left + width), _clip(top + height)
    if x2 <= x1 or y2 <= y1:
        return None
    return Box(x1=x1, y1=y1, x2=x2, y2=y2, score=score)


def _clip(value: float) -> float:
    # Boxes of people cut by the picture's edge may reach past it.
    return min(max(value, 0.0), 1.0)


def fit_for_rekognition(image: bytes) -> bytes:
    """The image itself, or a smaller JPEG of it when over the limit."""
    if len(image) <= MAX_IMAGE_BYTES:
        return image
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.draft("RGB", (SHRUNK_SIDE, SHRUNK_SIDE))
            picture = picture.convert("RGB")
            picture.thumbnail((SHRUNK_SIDE, SHRUNK_SIDE))
            out = io.BytesIO()
            picture.save(out, format="JPEG", quality=85)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(f"the image cannot be read: {error}")
    return out.getvalue()
