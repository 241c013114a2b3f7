"""Both counting strategies on real pictures with known numbers of people.

The pictures and their counts are the development set; the expected
numbers are the true counts on pictures the detector gets right, so a
change that makes it miss or invent people fails here.
"""

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import WHOLE_PICTURE, image_bytes, make_camera
from tests.pipeline_helpers import process
from zones.models import Zone

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LEFT = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
RIGHT = [[0.5, 0], [1, 0], [1, 1], [0.5, 1]]

KNOWN = [
    ("person.jpg", 1),
    ("grace_hopper.jpg", 1),
    ("dog.jpg", 0),
    ("horses.jpg", 0),
    ("vtest_300.jpg", 6),
    ("vtest_450.jpg", 3),
    # A crowded frame where the whole picture alone misses people who are
    # small in it: the tiles find them.
    ("vtest_150.jpg", 8),
]


def jpeg(name: str) -> bytes:
    return image_bytes(name)


@pytest.mark.parametrize("strategy", ["assign", "crop"])
@pytest.mark.parametrize("image, people", KNOWN)
def test_it_counts_the_people_in_a_zone_over_the_whole_picture(
    lobby, settings, strategy, image, people
):
    settings.COUNT_STRATEGY = strategy

    [count] = process("lobby", jpeg(image), NOON)

    assert count.people == people
    assert count.zone_name == "Everywhere"


@pytest.mark.parametrize("strategy", ["assign", "crop"])
def test_it_splits_a_crowd_between_two_zones(db, settings, strategy):
    settings.COUNT_STRATEGY = strategy
    camera, _ = make_camera("walkway")
    Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    Zone.objects.create(camera=camera, name="East", polygon=RIGHT)

    counts = {
        c.zone_name: c.people for c in process("walkway", jpeg("vtest_300.jpg"), NOON)
    }

    # Four people walk on the left half of this frame, two on the right.
    assert counts == {"West": 4, "East": 2}


def test_assign_counts_a_person_only_where_their_feet_are(db, settings):
    settings.COUNT_STRATEGY = "assign"
    camera, _ = make_camera("walkway")
    # A band across the top of the frame holds heads but no feet.
    Zone.objects.create(
        camera=camera, name="Sky", polygon=[[0, 0], [1, 0], [1, 0.1], [0, 0.1]]
    )
    Zone.objects.create(camera=camera, name="All", polygon=WHOLE_PICTURE)

    counts = {
        c.zone_name: c.people for c in process("walkway", jpeg("vtest_300.jpg"), NOON)
    }

    assert counts == {"Sky": 0, "All": 6}


def test_tiles_find_small_people_the_whole_picture_alone_misses(lobby, settings):
    # The same picture twice: the second must be detected, not kept.
    settings.DETECT_EVERY = 1
    settings.DETECTOR_TILES = "off"
    [alone] = process("lobby", jpeg("kite.jpg"), NOON)
    settings.DETECTOR_TILES = "2x2"

    [tiled] = process("lobby", jpeg("kite.jpg"), NOON + timedelta(minutes=1))

    # Ten people stand on the beach, most of them small.
    assert alone.people <= 2 and 7 <= tiled.people <= 10
    assert (alone.detector, tiled.detector) == (
        "ssdlite-mobilenetv2",
        "ssdlite-mobilenetv2+tiles2x2",
    )
