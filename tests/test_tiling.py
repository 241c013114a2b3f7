"""Finding small people on tiles of the picture, each person once.

The pictures are real (tests/images/SOURCES.md) and the detector is the
real one: the whole picture alone misses most of the small people on the
beach of kite.jpg, the tiles find them, and nobody is counted twice
where tiles overlap.
"""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy
import pytest

from pipeline.detection.base import Box, UnreadableImage
from pipeline.detection.ssdlite import INPUT_SIDE
from pipeline.detection.tiling import TiledDetector, TileGrid, merge_passes
from pipeline.detectors import get_detector
from tests.helpers import image_bytes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiled(settings):
    settings.DETECTOR_TILES = "2x2"
    return get_detector()


@pytest.fixture
def whole(settings):
    settings.DETECTOR_TILES = "off"
    return get_detector()


class CountingPasses:
    """The real detector, counting how often it runs."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.name = detector.name
        self.passes = 0

    def detect_pixels(self, image):
        self.passes += 1
        return self.detector.detect_pixels(image)

    def detect_regions(self, image, regions):
        self.passes += len(regions)
        return self.detector.detect_regions(image, regions)


def test_it_finds_small_people_the_whole_picture_misses(tiled, whole):
    # Ten people stand on the beach, most of them small.
    alone = len(whole.detect(image_bytes("kite.jpg")))
    with_tiles = len(tiled.detect(image_bytes("kite.jpg")))

    assert alone <= 2
    assert 7 <= with_tiles <= 10


@pytest.mark.parametrize(
    "image",
    ["dog.jpg", "horses.jpg", "fruits.jpg", "building.jpg", "coffee.png"],
)
def test_it_finds_nobody_on_a_picture_without_people(tiled, image):
    assert tiled.detect(image_bytes(image)) == []


@pytest.mark.parametrize(
    "image, people",
    [
        # One large person lies across every tile.
        ("person.jpg", 1),
        ("grace_hopper.jpg", 1),
        ("astronaut.png", 1),
        ("basketball1.png", 2),
        # A crowd on a walkway, two of them one behind the other.
        ("vtest_300.jpg", 6),
        ("vtest_750.jpg", 8),
    ],
)
def test_it_counts_each_person_once_where_tiles_overlap(tiled, image, people):
    assert len(tiled.detect(image_bytes(image))) == people


@pytest.mark.parametrize(
    "image, grid, people",
    [
        # The players stand taller than a tile of these grids: the tiles
        # see their arms, legs and upper bodies as people of their own.
        ("basketball1.png", "3x2", 2),
        ("basketball2.png", "3x2", 2),
        ("basketball1.png", "3x3", 2),
        ("astronaut.png", "3x2", 1),
        ("grace_hopper.jpg", "3x3", 1),
    ],
)
def test_a_person_too_large_for_a_tile_counts_once_on_a_finer_grid(
    settings, image, grid, people
):
    settings.DETECTOR_TILES = grid

    assert len(get_detector().detect(image_bytes(image))) == people


def test_the_whole_of_a_large_person_is_kept_rather_than_a_part(whole):
    # A tile sees the astronaut's upper body more surely than the whole
    # picture sees all of her; her feet must stay where she stands.
    detector = TiledDetector(whole, TileGrid(3, 2), INPUT_SIDE)

    [person] = detector.detect(image_bytes("astronaut.png"))

    assert person.y2 > 0.9


def test_its_boxes_are_fractions_of_the_whole_picture(tiled):
    boxes = tiled.detect(image_bytes("kite.jpg"))

    for box in boxes:
        assert 0 <= box.x1 < box.x2 <= 1 and 0 <= box.y1 < box.y2 <= 1
    # The people of kite.jpg stand in its lower half.
    assert all(box.foot[1] > 0.5 for box in boxes)


def test_its_name_says_that_tiles_were_used(tiled, whole):
    assert whole.name == "ssdlite-mobilenetv2"
    assert tiled.name == "ssdlite-mobilenetv2+tiles2x2"


def test_it_runs_once_per_tile_and_once_on_the_whole_picture(whole):
    counting = CountingPasses(whole)
    detector = TiledDetector(counting, TileGrid(3, 2), INPUT_SIDE)

    detector.detect(image_bytes("vtest_000.jpg"))

    assert counting.passes == 1 + 6 == detector.passes(768, 576)


def test_it_does_not_tile_a_picture_that_fits_the_detector_input(whole):
    counting = CountingPasses(whole)
    detector = TiledDetector(counting, TileGrid(2, 2), INPUT_SIDE)
    picture = cv2.imdecode(
        numpy.frombuffer(image_bytes("person.jpg"), numpy.uint8), cv2.IMREAD_COLOR
    )
    small = cv2.resize(picture, (INPUT_SIDE, 200))

    people = detector.detect_pixels(small)

    assert counting.passes == 1
    assert len(people) == 1


def test_it_refuses_bytes_that_are_not_a_picture(tiled):
    with pytest.raises(UnreadableImage):
        tiled.detect(b"\xff\xd8 not really a JPEG")


def test_the_tiles_cover_the_picture_and_overlap():
    tiles = TileGrid(2, 2).tiles(768, 576)

    covered = numpy.zeros((576, 768), dtype=bool)
    for left, top, right, bottom in tiles:
        covered[top:bottom, left:right] = True
    assert covered.all()
    (a_left, _, a_right, _), (b_left, _, b_right, _) = tiles[:2]
    shared = a_right - b_left
    assert shared == pytest.approx(0.2 * (a_right - a_left), abs=1)


def test_boxes_of_one_person_from_two_passes_become_one():
    sure = Box(0.30, 0.28, 0.36, 0.40, 0.9)
    shifted = Box(0.31, 0.28, 0.37, 0.41, 0.4)
    elsewhere = Box(0.70, 0.30, 0.75, 0.42, 0.5)

    assert merge_passes([[shifted], [sure, elsewhere]]) == [sure, elsewhere]


def test_two_people_one_behind_the_other_in_one_pass_stay_two():
    front = Box(0.311, 0.285, 0.357, 0.399, 0.6)
    behind = Box(0.317, 0.274, 0.343, 0.386, 0.35)

    assert merge_passes([[front, behind]]) == [front, behind]


def test_a_person_cut_by_a_tile_edge_is_left_to_the_tile_that_holds_them(whole):
    detector = TiledDetector(whole, TileGrid(2, 2), INPUT_SIDE)
    picture = cv2.imread(str(ROOT / "tests" / "images" / "vtest_300.jpg"))
    # The edge at x = 600 runs through the man walking at x = 579 to 610.
    cut, holding = (420, 100, 600, 340), (420, 100, 660, 340)
    left, top, right, bottom = cut
    [half] = whole.detect_pixels(
        numpy.ascontiguousarray(picture[top:bottom, left:right])
    )
    assert half.x2 == 1.0

    assert detector.tile_people(picture, cut) == []
    people = detector.tile_people(picture, holding)
    assert any(579 / 768 < person.foot[0] < 610 / 768 for person in people)


@pytest.mark.parametrize(
    "environment, message",
    [
        ({"DETECTOR_TILES": "lots"}, "DETECTOR_TILES must be off or a grid"),
        ({"DETECTOR_TILES": "1x1"}, "DETECTOR_TILES must be off or a grid"),
        (
            {"DETECTOR": "rekognition", "DETECTOR_TILES": "2x2"},
            "DETECTOR_TILES applies to DETECTOR=ssdlite only",
        ),
    ],
)
def test_a_bad_tile_setting_stops_start_up(tmp_path, environment, message):
    env = {**os.environ, "OCCUPANCY_DATA_DIR": str(tmp_path), **environment}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert message in result.stderr
