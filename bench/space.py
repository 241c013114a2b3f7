"""The spaces the load and soak benchmarks run against.

    python -m bench.space load       a site of 25 cameras with 4 zones each
    python -m bench.space soak       cameras for uploads; prints their tokens
    python -m bench.space state      the current counts and the audit

Run by bench.load and bench.soak in their sandbox's environment, so that
everything is made and read with the product's own code, in the data
folder of the server under test. Each command prints one JSON object.
"""

import io
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.demo import DemoZone
    from analytics.history import Figure
    from devices.models import Camera

LOAD_CAMERAS, LOAD_ZONES = 25, 4
# Quarters of the picture, as a site would draw them over a large room.
QUARTERS = {
    "North-west": [[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]],
    "North-east": [[0.5, 0], [1, 0], [1, 0.5], [0.5, 0.5]],
    "South-west": [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]],
    "South-east": [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1]],
}
SOAK_CAMERAS = 5
# Bands across the demo walkway; every other camera has the third one.
BANDS = {
    "West": [[0, 0], [0.4, 0], [0.4, 1], [0, 1]],
    "Middle": [[0.4, 0], [0.7, 0], [0.7, 1], [0.4, 1]],
    "East": [[0.7, 0], [1, 0], [1, 1], [0.7, 1]],
}
# A Monday, to give each weekday-by-hour slot a date to be expected at.
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


def create_camera(name: str, interval: int) -> tuple["Camera", str]:
    """A camera made by `manage.py create_camera`, and its token."""
    from django.core.management import call_command

    from devices.models import Camera

    out = io.StringIO()
    arguments = ["--interval", str(interval), "--description", "bench"]
    call_command("create_camera", name, *arguments, stdout=out)
    return Camera.objects.get(pk=name), out.getvalue().strip()


def seed_load() -> dict[str, Any]:
    """Cameras in touch, each zone with a current count, and the usual
    figures of every slot of both granularities."""
    from django.utils import timezone

    from analytics.demo import DemoZone
    from devices.health import record_contact
    from pipeline.counts import ZoneCount, current_counts
    from zones.models import Zone

    now = timezone.now()
    zones, counts = [], []
    for index in range(LOAD_CAMERAS):
        camera, _ = create_camera(f"floor-{index:02d}", interval=60)
        record_contact(camera, snapshot=True)
        for name, polygon in list(QUARTERS.items())[:LOAD_ZONES]:
            zone = Zone.objects.create(
                camera=camera, name=name, polygon=polygon, capacity=20
            )
            zones.append(DemoZone(camera.pk, zone.pk, name, 20, 0.3 + index / 100))
            people = (index * 7 + zone.pk * 3) % 9
            image_id = f"{zone.pk:024x}"
            counts.append(
                ZoneCount(camera.pk, zone.pk, name, people, now, image_id, "bench")
            )
    current_counts().record(counts)
    figures = sum(_store_usual(zones, by, now) for by in ("hour", "weekday_hour"))
    return {"cameras": LOAD_CAMERAS, "zones": len(zones), "figures": figures}


def _store_usual(zones: list["DemoZone"], by: str, now: datetime) -> int:
    from django.conf import settings

    from analytics.history import Run, historical_data
    from analytics.jobs import default_days
    from analytics.query import window_ending

    days = default_days(by)  # type: ignore[arg-type]
    window = window_ending(now, by, days, settings.TIME_ZONE)  # type: ignore[arg-type]
    weekdays = [None] if by == "hour" else list(range(1, 8))
    figures = []
    for weekday in weekdays:
        for hour in range(24):
            figures.extend(_slot_figures(zones, weekday, hour, days))
    historical_data().replace(Run(window.by, now, window.start, window.end), figures)
    return len(figures)


def _slot_figures(
    zones: list["DemoZone"], weekday: int | None, hour: int, days: int
) -> list["Figure"]:
    """One a minute over the window, around the demo's daily shape."""
    from analytics.demo import expected_people
    from analytics.history import SPACE, Figure, slot_name, zone_scope

    slot = slot_name(hour, weekday)
    moment = MONDAY + timedelta(days=(weekday or 3) - 1, hours=hour, minutes=30)
    samples = 60 * (days if weekday is None else max(days // 7, 1))
    figures, total = [], [0.0, 0.0, 0.0]
    for zone in zones:
        average = expected_people(zone, moment)
        spread = 2 * math.sqrt(average)
        low, high = max(math.floor(average - spread), 0), math.ceil(average + spread)
        figures.append(
            Figure(zone_scope(zone.zone_id), slot, average, samples, low, high)
        )
        total = [total[0] + average, total[1] + low, total[2] + high]
    samples *= len(zones)
    figures.append(Figure(SPACE, slot, total[0], samples, total[1], total[2]))
    return figures


def seed_soak() -> dict[str, Any]:
    """Cameras with two or three zones each, and their tokens."""
    from zones.models import Zone
    from zones.selections import zone_selections

    cameras = {}
    for index in range(SOAK_CAMERAS):
        camera, token = create_camera(f"soak-{index}", interval=1)
        # Saving a zone mirrors it to the zone selections store.
        names = list(BANDS)[: 2 + index % 2]
        zone_ids = [
            Zone.objects.create(camera=camera, name=name, polygon=BANDS[name]).pk
            for name in names
        ]
        mirrored = [zone.id for zone in zone_selections().get(camera.pk)]
        if mirrored != zone_ids:
            raise RuntimeError(f"{camera.pk}'s zones were not mirrored")
        cameras[camera.pk] = {"token": token, "zones": zone_ids}
    return {"cameras": cameras}


def state() -> dict[str, Any]:
    """Every zone's current count, and how many audit events of each
    stage there are, with the images that expired."""
    from django.utils import timezone

    from audit.store import image_audit
    from pipeline.counts import current_counts
    from zones.models import Zone

    zone_ids = list(Zone.objects.values_list("pk", flat=True))
    counts = {
        str(zone_id): {"image_id": count.image_id, "captured_at": _stamp(count)}
        for zone_id, count in current_counts().for_zones(zone_ids).items()
    }
    stages: dict[str, int] = {}
    expired = []
    for event in image_audit().since(timezone.now() - timedelta(days=1)):
        stages[event.stage] = stages.get(event.stage, 0) + 1
        if event.stage == "expired":
            expired.append(event.image_id)
    return {"counts": counts, "stages": stages, "expired": expired}


def _stamp(count: Any) -> str:
    return count.to_record()["captured_at"]


COMMANDS = {"load": seed_load, "soak": seed_soak, "state": state}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: python -m bench.space {{{','.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.core.management import call_command

    if argv[0] != "state":
        call_command("migrate", interactive=False, verbosity=0)
    print(json.dumps(COMMANDS[argv[0]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
