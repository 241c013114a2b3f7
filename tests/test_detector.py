"""The SSDLite person detector, run for real on the development images.

No database and no Django settings are needed: these tests only load the
model and images from disk.
"""

import importlib.resources
import threading
from pathlib import Path

import cv2
import numpy
import pytest

from pipeline.detection.base import Box, Detector
from pipeline.detection.ssdlite import (
    GRAPH_FILE,
    MODEL_FILE,
    MODEL_PACKAGE,
    ModelFilesMissing,
    SSDLiteDetector,
)
from pipeline.detection.textgraph import build_text_graph

IMAGES = Path(__file__).parent / "images"
DETECTION_DIR = Path(__file__).parent.parent / "pipeline" / "detection"

# How many people a person counts in each development image.
TRUE_COUNTS = {
    "vtest_000.jpg": 3,
    "vtest_150.jpg": 8,
    "vtest_300.jpg": 6,
    "vtest_450.jpg": 3,
    "vtest_600.jpg": 6,
    "vtest_750.jpg": 8,
    "basketball1.png": 2,
    "basketball2.png": 2,
    "studentsSample_input.jpg": 5,
    "scenetext01.jpg": 2,
    "left01.jpg": 1,
    "person.jpg": 1,
    "kite.jpg": 10,
    "dog.jpg": 0,
    "horses.jpg": 0,
    "astronaut.png": 1,
    "grace_hopper.jpg": 1,
    "fruits.jpg": 0,
    "building.jpg": 0,
    "coffee.png": 0,
    "chelsea.png": 0,
}
EMPTY_SCENES = sorted(name for name, count in TRUE_COUNTS.items() if count == 0)
PORTRAITS = ["person.jpg", "grace_hopper.jpg", "astronaut.png"]

# Measured at the default threshold 0.25: 20 people off in total (kite.jpg,
# ten small figures on a beach, alone accounts for 8).  The bound leaves room
# for small numeric differences between OpenCV builds, not for a regression.
MAX_TOTAL_COUNT_ERROR = 25


def load(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


@pytest.fixture(scope="module")
def detector() -> SSDLiteDetector:
    return SSDLiteDetector()


@pytest.fixture(scope="module")
def detections(detector: SSDLiteDetector) -> dict[str, list[Box]]:
    return {name: detector.detect(load(name)) for name in TRUE_COUNTS}


def test_it_is_a_detector(detector: SSDLiteDetector) -> None:
    as_protocol: Detector = detector
    assert as_protocol.name == "ssdlite-mobilenetv2"


@pytest.mark.parametrize("name", EMPTY_SCENES)
def test_it_finds_no_person_in_scenes_without_people(
    detections: dict[str, list[Box]], name: str
) -> None:
    assert detections[name] == []


@pytest.mark.parametrize("name", PORTRAITS)
def test_it_finds_the_person_in_portraits(
    detections: dict[str, list[Box]], name: str
) -> None:
    assert len(detections[name]) >= 1


def test_it_counts_the_development_set_closely(
    detections: dict[str, list[Box]],
) -> None:
    found = {name: len(boxes) for name, boxes in detections.items()}
    error = sum(abs(found[name] - true) for name, true in TRUE_COUNTS.items())
    assert error <= MAX_TOTAL_COUNT_ERROR, found


def test_it_finds_people_in_every_busy_street_frame(
    detections: dict[str, list[Box]],
) -> None:
    frames = [name for name in TRUE_COUNTS if name.startswith("vtest_")]
    assert all(len(detections[name]) >= 2 for name in frames)


def test_it_gives_boxes_as_fractions_of_the_image(
    detections: dict[str, list[Box]],
) -> None:
    boxes = detections["vtest_300.jpg"]
    assert boxes
    for box in boxes:
        assert 0 <= box.x1 < box.x2 <= 1
        assert 0 <= box.y1 < box.y2 <= 1
        assert 0.25 <= box.score <= 1
        assert box.foot == ((box.x1 + box.x2) / 2, box.y2)
    # People in this 576-pixel-high frame are 60 to 100 pixels tall.
    assert 0.1 < max(box.y2 - box.y1 for box in boxes) < 0.25


def test_it_puts_the_portrait_person_where_they_are(
    detections: dict[str, list[Box]],
) -> None:
    # Grace Hopper fills the middle of a 512x600 portrait.
    box = max(detections["grace_hopper.jpg"], key=lambda box: box.score)
    assert box.score > 0.9
    assert box.x1 < 150 / 512 and box.x2 > 350 / 512
    assert box.y2 > 500 / 600


def test_it_keeps_fewer_boxes_at_a_higher_threshold() -> None:
    image = load("vtest_750.jpg")
    loose = SSDLiteDetector(score_threshold=0.1).detect(image)
    strict = SSDLiteDetector(score_threshold=0.6).detect(image)
    assert len(strict) < len(loose)
    assert all(box.score >= 0.6 for box in strict)


def test_it_gives_the_same_boxes_when_shared_between_threads(
    detector: SSDLiteDetector, detections: dict[str, list[Box]]
) -> None:
    names = ["vtest_000.jpg", "vtest_450.jpg", "basketball1.png", "person.jpg"]
    images = {name: load(name) for name in names}
    results: dict[str, list[Box]] = {}

    def run(name: str) -> None:
        for _ in range(3):
            results[name] = detector.detect(images[name])

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {name: detections[name] for name in names}


def test_it_finds_on_a_region_in_place_what_it_finds_on_the_region_cut_out(
    detector: SSDLiteDetector,
) -> None:
    picture = cv2.imread(str(IMAGES / "vtest_300.jpg"))
    region = (341, 0, 768, 320)
    left, top, right, bottom = region
    cut_out = numpy.ascontiguousarray(picture[top:bottom, left:right])

    [in_place] = detector.detect_regions(picture, [region])
    alone = detector.detect_pixels(cut_out)

    # Only the last row and column are read differently: past the region
    # in place, repeated on the cut-out.
    assert len(in_place) == len(alone) >= 2
    for a, b in zip(in_place, alone, strict=True):
        assert (a.x1, a.y1, a.x2, a.y2) == pytest.approx(
            (b.x1, b.y1, b.x2, b.y2), abs=0.01
        )
        assert a.score == pytest.approx(b.score, abs=0.02)


def test_it_finds_on_several_regions_at_once_what_it_finds_one_by_one(
    detector: SSDLiteDetector, detections: dict[str, list[Box]]
) -> None:
    picture = cv2.imread(str(IMAGES / "basketball1.png"))
    regions = [(0, 0, 640, 480), (0, 0, 356, 267), (284, 213, 640, 480)]

    together = detector.detect_regions(picture, regions)

    assert together == [detector.detect_regions(picture, [r])[0] for r in regions]
    assert together[0] == detections["basketball1.png"]


@pytest.mark.parametrize(
    "region", [(0, 0, 641, 480), (-1, 0, 100, 100), (50, 50, 50, 100)]
)
def test_it_refuses_a_region_that_is_not_a_part_of_the_picture(
    detector: SSDLiteDetector, region: tuple[int, int, int, int]
) -> None:
    picture = cv2.imread(str(IMAGES / "basketball1.png"))

    with pytest.raises(ValueError, match="is not a part of a 640x480 picture"):
        detector.detect_regions(picture, [region])


def test_it_rejects_images_that_are_not_rgb(detector: SSDLiteDetector) -> None:
    gray = numpy.zeros((480, 640), dtype=numpy.uint8)
    with pytest.raises(ValueError):
        detector.detect(gray)
    with pytest.raises(ValueError):
        detector.detect(numpy.zeros((480, 640, 3), dtype=numpy.float32))


def test_it_explains_missing_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesMissing, match="frozen graph"):
        SSDLiteDetector(model_path=str(tmp_path / "missing.pb"))
    with pytest.raises(ModelFilesMissing, match="text graph"):
        SSDLiteDetector(graph_path=str(tmp_path / "missing.pbtxt"))


def test_the_generator_reproduces_the_committed_text_graph(tmp_path: Path) -> None:
    model = importlib.resources.files(MODEL_PACKAGE) / MODEL_FILE
    with importlib.resources.as_file(model) as model_path:
        build_text_graph(str(model_path), str(tmp_path / GRAPH_FILE))
    generated = (tmp_path / GRAPH_FILE).read_bytes()
    assert generated == (DETECTION_DIR / GRAPH_FILE).read_bytes()


def test_the_process_loads_the_model_once_however_often_it_is_asked(
    monkeypatch: pytest.MonkeyPatch, settings
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pipeline import detectors

    settings.DETECTOR = "ssdlite"
    settings.DETECTOR_TILES = "off"
    monkeypatch.setattr(detectors, "_loaded", {})
    read = cv2.dnn.readNetFromTensorflow
    loads = []

    def counting_read(*paths: str):
        loads.append(paths)
        return read(*paths)

    monkeypatch.setattr(cv2.dnn, "readNetFromTensorflow", counting_read)

    first = detectors.get_detector()
    with ThreadPoolExecutor(max_workers=4) as pool:
        others = list(pool.map(lambda _: detectors.get_detector(), range(8)))

    assert len(loads) == 1
    assert all(other is first for other in others)
