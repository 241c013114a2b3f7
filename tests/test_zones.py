import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from tests.helpers import WHOLE_PICTURE, make_camera
from zones.geometry import parse_polygon
from zones.models import Zone, ZoneSelection
from zones.selections import zone_selections

BOWTIE = [[0, 0], [1, 1], [1, 0], [0, 1]]


@pytest.mark.parametrize(
    "polygon, message",
    [
        ("0,0 1,1", "list of [x, y]"),
        ([[0, 0], [1, 1]], "at least 3"),
        ([[0, 0], [1, 0], [0, 0]], "at least 3"),
        ([[0, 0], [1, 0], [1, 1.5]], "outside the picture"),
        ([[0, 0], [1, 0], [-0.1, 1]], "outside the picture"),
        ([[0, 0], [1, 0], ["1", 1]], "not a number"),
        ([[0, 0], [1, 0], [True, 1]], "not a number"),
        ([[0, 0], [1, 0], [1]], "not an [x, y] pair"),
        (BOWTIE, "must not cross"),
        ([[0, 0], [1, 0], [1, 1], [1, 0.0], [0, 1]], "Vertex 4 repeats vertex 2"),
        ([[0, 0], [0.5, 0.5], [1, 1]], "too small"),
        ([[0, 0], [0.01, 0], [0.01, 0.01]], "too small"),
        ([[i / 1000, (i % 2) / 2 + 0.1] for i in range(1000)], "at most"),
    ],
)
def test_it_refuses_a_bad_polygon(polygon, message):
    with pytest.raises(ValidationError) as caught:
        parse_polygon(polygon)

    assert message in caught.value.messages[0]


@pytest.mark.parametrize(
    "polygon",
    [
        [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]],
        [[0, 0], [1, 0], [1, 1]],
        [[0.2, 0.2], [0.8, 0.2], [0.5, 0.5], [0.8, 0.8], [0.2, 0.8]],
    ],
)
def test_it_accepts_a_good_polygon(polygon):
    assert parse_polygon(polygon) == tuple(tuple(point) for point in polygon)


def test_it_accepts_a_closed_ring_and_drops_the_repeated_vertex():
    ring = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9], [0.1, 0.1]]

    assert parse_polygon(ring) == ((0.1, 0.1), (0.9, 0.1), (0.5, 0.9))


def test_a_saved_zone_is_mirrored_to_the_selections_store(db):
    camera, _ = make_camera("hall")

    zone = Zone.objects.create(camera=camera, name="Entrance", polygon=WHOLE_PICTURE)

    [shape] = zone_selections().get("hall")
    assert (shape.id, shape.name) == (zone.pk, "Entrance")
    assert shape.holds(0.5, 0.5)


def test_an_inactive_or_deleted_zone_leaves_the_store(db):
    camera, _ = make_camera("hall")
    zone = Zone.objects.create(camera=camera, name="Entrance", polygon=WHOLE_PICTURE)
    other = Zone.objects.create(camera=camera, name="Exit", polygon=WHOLE_PICTURE)

    zone.active = False
    zone.save()
    assert [shape.name for shape in zone_selections().get("hall")] == ["Exit"]

    other.delete()
    assert zone_selections().get("hall") == []


def test_deleting_a_camera_removes_its_selection(db):
    camera, _ = make_camera("hall")
    Zone.objects.create(camera=camera, name="Entrance", polygon=WHOLE_PICTURE)

    camera.delete()

    assert not ZoneSelection.objects.filter(camera_id="hall").exists()


def test_sync_zones_repairs_the_store(db):
    camera, _ = make_camera("hall")
    Zone.objects.create(camera=camera, name="Entrance", polygon=WHOLE_PICTURE)
    ZoneSelection.objects.filter(camera_id="hall").update(zones=[])
    ZoneSelection.objects.create(camera_id="gone", zones=[])

    call_command("sync_zones", stdout=io.StringIO())

    assert [shape.name for shape in zone_selections().get("hall")] == ["Entrance"]
    assert not ZoneSelection.objects.filter(camera_id="gone").exists()


def test_a_zone_name_with_control_characters_is_refused(db):
    camera, _ = make_camera("hall")
    zone = Zone(camera=camera, name="Entrance\x00", polygon=WHOLE_PICTURE)

    with pytest.raises(ValidationError) as caught:
        zone.full_clean()

    assert "name" in caught.value.message_dict
