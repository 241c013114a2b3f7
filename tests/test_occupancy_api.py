from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.history import Figure, Run, historical_data, slot_name
from devices.health import record_contact
from devices.models import Camera
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
    record_contact(camera)
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
        "usual": None,
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


def test_a_fresh_count_of_a_camera_out_of_touch_is_stale(db):
    camera, _ = make_camera("library", interval=60)
    zone = Zone.objects.create(camera=camera, name="Desks", polygon=WHOLE_PICTURE)
    record(zone, 3, seconds_ago=10)
    Camera.objects.filter(pk="library").update(
        last_seen=timezone.now() - timedelta(minutes=30)
    )

    [row] = APIClient().get(URL).json()["zones"]

    assert row["people"] == 3 and row["stale"] is True


def usual_day(by: str, scopes: list[str]) -> None:
    """A history whose average at each slot tells the slot: weekday*100+hour."""
    now = timezone.now()
    weekdays = range(1, 8) if by == "weekday_hour" else [None]
    figures = [
        Figure(scope, slot_name(hour, day), (day or 0) * 100 + hour, 7, 0.0, 9.0)
        for scope in scopes
        for day in weekdays
        for hour in range(24)
    ]
    historical_data().replace(Run(by, now, now - timedelta(days=7), now), figures)


def local_slot(body: dict) -> tuple[int, int]:
    generated = datetime.fromisoformat(body["generated_at"])
    local = generated.astimezone(ZoneInfo(settings.TIME_ZONE))
    return local.isoweekday(), local.hour


def test_it_adds_the_usual_figure_of_this_hour_per_zone_and_for_the_space(db):
    camera, _ = make_camera("library")
    zone = Zone.objects.create(camera=camera, name="Desks", polygon=WHOLE_PICTURE)
    usual_day("hour", ["space", f"zone:{zone.pk}"])

    body = APIClient().get(URL).json()

    _, hour = local_slot(body)
    assert body["usual_for"] == {"by": "hour", "weekday": None, "hour": hour}
    usual = {"average": hour, "samples": 7, "low": 0.0, "high": 9.0}
    assert body["zones"][0]["usual"] == usual
    assert body["total"]["usual"] == usual


def test_the_weekday_view_is_used_once_it_is_computed(db):
    camera, _ = make_camera("library")
    zone = Zone.objects.create(camera=camera, name="Desks", polygon=WHOLE_PICTURE)
    usual_day("hour", ["space", f"zone:{zone.pk}"])
    usual_day("weekday_hour", ["space", f"zone:{zone.pk}"])

    body = APIClient().get(URL).json()

    weekday, hour = local_slot(body)
    assert body["usual_for"] == {"by": "weekday_hour", "weekday": weekday, "hour": hour}
    assert body["zones"][0]["usual"]["average"] == weekday * 100 + hour


def test_a_zone_without_records_at_this_hour_has_no_usual_figure(db):
    camera, _ = make_camera("library")
    Zone.objects.create(camera=camera, name="Closed at night", polygon=WHOLE_PICTURE)
    usual_day("hour", ["space"])

    body = APIClient().get(URL).json()

    assert body["zones"][0]["usual"] is None
    assert body["total"]["usual"]["samples"] == 7
