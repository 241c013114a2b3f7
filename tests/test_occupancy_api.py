from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from pipeline.counts import ZoneCount, current_counts
from tests.helpers import WHOLE_PICTURE, make_camera
from zones.models import Zone

URL = "/api/v1/occupancy/"


def record(zone: Zone, people: int, seconds_ago: float) -> None:
    current_counts().record(
        [
            ZoneCount(
                camera_id=zone.camera_id,
                zone_id=zone.pk,
                zone_name=zone.name,
                people=people,
                captured_at=timezone.now() - timedelta(seconds=seconds_ago),
                image_id="0" * 24,
                detector="test",
            )
        ]
    )


def test_it_reports_each_active_zone_and_the_total(db):
    camera, _ = make_camera("library", interval=60)
    reading = Zone.objects.create(
        camera=camera, name="Reading room", polygon=WHOLE_PICTURE, capacity=40
    )
    desks = Zone.objects.create(
        camera=camera, name="Desks", polygon=WHOLE_PICTURE, capacity=10
    )
    Zone.objects.create(
        camera=camera, name="Closed", polygon=WHOLE_PICTURE, active=False
    )
    record(reading, 12, seconds_ago=30)
    record(desks, 3, seconds_ago=400)

    response = APIClient().get(URL)

    assert response.status_code == 200
    body = response.json()
    zones = {zone["name"]: zone for zone in body["zones"]}
    assert set(zones) == {"Reading room", "Desks"}
    assert zones["Reading room"]["people"] == 12
    assert zones["Reading room"]["capacity"] == 40
    assert zones["Reading room"]["stale"] is False
    assert zones["Reading room"]["camera"] == "library"
    assert zones["Reading room"]["captured_at"].endswith("Z")
    # Three intervals of 60 s passed without a count.
    assert zones["Desks"]["stale"] is True
    assert body["total"] == {
        "people": 15,
        "capacity": 50,
        "zones": 2,
        "counted_zones": 2,
        "stale": True,
    }


def test_a_zone_never_counted_has_no_people_and_is_stale(db):
    camera, _ = make_camera("gym")
    Zone.objects.create(camera=camera, name="Weights", polygon=WHOLE_PICTURE)

    body = APIClient().get(URL).json()

    [zone] = body["zones"]
    assert zone["people"] is None and zone["stale"] is True
    assert zone["captured_at"] is None
    assert body["total"]["people"] == 0 and body["total"]["capacity"] is None


def test_it_answers_with_no_zones_at_all(db):
    body = APIClient().get(URL).json()

    assert body["zones"] == []
    assert body["total"]["people"] == 0


def test_it_refuses_to_be_written_to(db):
    assert APIClient().post(URL, {}).status_code == 405
