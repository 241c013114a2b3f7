"""Both counting strategies on real pictures with known numbers of people.

The pictures and their counts are the development set; the expected
numbers are the true counts on pictures the detector gets right, so a
change that makes it miss or invent people fails here.
"""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import storages
from PIL import ExifTags, Image

from pipeline import count
from pipeline.count import count_processed
from pipeline.crop import crop_snapshot
from pipeline.detectors import get_detector
from pipeline.uploads import accept_snapshot
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


def test_assign_places_a_person_by_their_feet_not_the_middle_of_their_box(db, settings):
    settings.COUNT_STRATEGY = "assign"
    camera, _ = make_camera("walkway")
    # In this frame the six walkers' heads are near 29 % of its height, the
    # middles of their boxes near 35 % and their feet below 39 %.
    Zone.objects.create(
        camera=camera, name="Bodies", polygon=[[0, 0.2], [1, 0.2], [1, 0.38], [0, 0.38]]
    )
    Zone.objects.create(
        camera=camera, name="Floor", polygon=[[0, 0.38], [1, 0.38], [1, 1], [0, 1]]
    )

    counts = {
        c.zone_name: c.people for c in process("walkway", jpeg("vtest_300.jpg"), NOON)
    }

    assert counts == {"Bodies": 0, "Floor": 6}


def sideways(name: str, orientation: int) -> bytes:
    """A development picture stored a quarter turn round, with the EXIF
    Orientation that tells a viewer how to turn it back (6: a quarter turn
    clockwise, 8: anticlockwise)."""
    turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    with Image.open(io.BytesIO(jpeg(name))) as upright:
        stored = upright.transpose(turn[orientation])
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    stored.save(out, format="JPEG", quality=92, exif=exif)
    return out.getvalue()


def walkway_halves() -> None:
    camera, _ = make_camera("walkway")
    Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    Zone.objects.create(camera=camera, name="East", polygon=RIGHT)


@pytest.mark.parametrize("orientation", [6, 8])
def test_crop_turns_a_sideways_snapshot_upright_before_cutting_its_zones(
    db, settings, orientation
):
    settings.COUNT_STRATEGY = "crop"
    walkway_halves()
    data = sideways("vtest_300.jpg", orientation)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (576, 768)

    counts = {c.zone_name: c.people for c in process("walkway", data, NOON)}

    # As in the upright frame: four walk on the left half, two on the right.
    assert counts == {"West": 4, "East": 2}


@pytest.mark.parametrize("orientation", [6, 8])
def test_assign_passes_a_sideways_snapshot_on_upright(db, settings, orientation):
    settings.COUNT_STRATEGY = "assign"
    walkway_halves()
    key = accept_snapshot("walkway", sideways("vtest_300.jpg", orientation), NOON)

    [name] = crop_snapshot(key.name)

    with storages["processed_images"].open(name, "rb") as handle:
        processed = Image.open(io.BytesIO(handle.read()))
    assert processed.size == (768, 576)
    assert ExifTags.Base.Orientation not in processed.getexif()
    counts = {c.zone_name: c.people for c in count_processed(name)}
    assert counts == {"West": 4, "East": 2}


class CountingDetector:
    """The real detector, noting the size of every picture it is given."""

    def __init__(self) -> None:
        self.inner = get_detector()
        self.name = self.inner.name
        self.sizes: list[tuple[int, int]] = []

    def detect(self, image: bytes):
        with Image.open(io.BytesIO(image)) as picture:
            self.sizes.append(picture.size)
        return self.inner.detect(image)


@pytest.fixture
def spy(db, settings, monkeypatch) -> CountingDetector:
    """The walkway's two halves, counted by the detector that notes sizes."""
    settings.DETECTOR_TILES = "off"
    walkway_halves()
    spy = CountingDetector()
    monkeypatch.setattr(count, "get_detector", lambda: spy)
    return spy


def test_crop_makes_one_image_and_one_detection_per_zone(settings, spy):
    settings.COUNT_STRATEGY = "crop"
    key = accept_snapshot("walkway", jpeg("vtest_300.jpg"), NOON)
    west = Zone.objects.get(camera="walkway", name="West")
    east = Zone.objects.get(camera="walkway", name="East")

    names = crop_snapshot(key.name)
    counts = {c.zone_name: c.people for name in names for c in count_processed(name)}

    assert sorted(names) == sorted(
        [f"{key.stem}.z{west.pk}.jpg", f"{key.stem}.z{east.pk}.jpg"]
    )
    # Each half of the 768x576 frame, on its own.
    assert spy.sizes == [(384, 576), (384, 576)]
    assert counts == {"West": 4, "East": 2}


def test_assign_makes_one_image_and_one_detection_for_all_zones(settings, spy):
    settings.COUNT_STRATEGY = "assign"
    key = accept_snapshot("walkway", jpeg("vtest_300.jpg"), NOON)

    names = crop_snapshot(key.name)
    counts = {c.zone_name: c.people for name in names for c in count_processed(name)}

    assert names == [key.name]
    assert spy.sizes == [(768, 576)]
    assert counts == {"West": 4, "East": 2}
