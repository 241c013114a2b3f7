from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics.demo import DemoZone, write_demo_history
from analytics.jobs import RefreshFailed, refresh_history
from analytics.query import GRANULARITIES
from devices.demo import DEMO_CAMERA, ensure_demo_camera
from zones.models import Zone

# How busy each demo zone gets at its peak, as a share of its capacity.
PEAK_SHARES = {"West path": 0.55, "East road": 0.35}
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Fill the local data lake with plausible past counts for the demo "
        "camera's zones, then refresh the history, so that the dashboard "
        "has a usual day to show."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=28, help="1 to 366")
        parser.add_argument(
            "--interval", type=int, default=60, help="seconds between records"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--no-refresh", action="store_true", help="leave the history as it is"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days, interval = options["days"], options["interval"]
        if not 1 <= days <= 366:
            raise CommandError("--days must be from 1 to 366.")
        if not 10 <= interval <= 3600:
            raise CommandError("--interval must be from 10 to 3600 seconds.")
        if settings.OCCUPANCY_BACKEND != "local":
            raise CommandError("Demo history goes to the local data lake only.")

        # Before `make run` ever ran, the database has no tables yet.
        call_command("migrate", interactive=False, verbosity=0)
        zones = _demo_zones()
        self.stdout.write(
            f"Writing {days} days of counts for {len(zones)} zones of "
            f"{DEMO_CAMERA}, one every {interval} s while open"
        )
        total = write_demo_history(
            zones,
            end=timezone.now(),
            days=days,
            interval=interval,
            time_zone=settings.TIME_ZONE,
            seed=options["seed"],
            progress=self._progress,
        )
        self.stdout.write(f"{total} records written to the data lake")

        if not options["no_refresh"]:
            self._refresh()

    def _progress(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total
        if filled == BAR_WIDTH * (done - 1) // total and done < total:
            return  # redraw only when the bar grows: a log stays short
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        ending = "\n" if done >= total else ""
        self.stdout.write(f"\r[{bar}] {done}/{total} hours", ending=ending)
        self.stdout.flush()

    def _refresh(self) -> None:
        for by in GRANULARITIES:
            try:
                self.stdout.write(f"History refreshed: {refresh_history(by)}")
            except RefreshFailed as error:
                raise CommandError(f"History not refreshed: {error}")


def _demo_zones() -> list[DemoZone]:
    ensure_demo_camera()
    zones = Zone.objects.filter(camera_id=DEMO_CAMERA, active=True).order_by("pk")
    if not zones:
        raise CommandError(f"The camera {DEMO_CAMERA} has no active zone.")
    return [
        DemoZone(
            camera_id=DEMO_CAMERA,
            zone_id=zone.pk,
            name=zone.name,
            capacity=zone.capacity or 15,
            peak_share=PEAK_SHARES.get(zone.name, 0.4),
        )
        for zone in zones
    ]
