from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.aws_costs import (
    FIXED_MONTHLY,
    PRICES_DATE,
    Sizes,
    Usage,
    camera_usage,
    dollars,
    monthly_cost,
    table,
    written_sizes,
)


class Command(BaseCommand):
    help = (
        "Estimate what one camera costs per month on AWS at given sampling "
        "intervals, from list prices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            action="append",
            help="seconds between snapshots (repeatable; default 10, 60, 300)",
        )
        parser.add_argument(
            "--hours", type=float, default=12.0, help="opening hours a day (12)"
        )
        parser.add_argument(
            "--days", type=int, default=30, help="opening days a month (30)"
        )
        parser.add_argument("--zones", type=int, default=2)
        parser.add_argument("--strategy", choices=["assign", "crop"], default="assign")
        parser.add_argument(
            "--detected-share",
            type=float,
            help="skip unchanged snapshots, the detector running on this share "
            "of images (0 to 1; make bench measures it); default: no skipping",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        intervals = options["interval"] or [10.0, 60.0, 300.0]
        share = options["detected_share"]
        sizes = written_sizes(settings.SMOOTHING_WINDOW)
        try:
            estimates = {
                f"every {interval:g} s": monthly_cost(_usage(options, interval, sizes))
                for interval in intervals
            }
        except ValueError as error:
            raise CommandError(str(error))

        skip = "no skipping" if share is None else f"skipping, detector on {share:.0%}"
        self.stdout.write(
            f"One camera, {options['zones']} zones, {options['strategy']}, {skip}, "
            f"{options['hours']:g} opening hours a day, {options['days']} days a "
            f"month; us-east-1 list prices of {PRICES_DATE}, no free tier:"
        )
        # A Markdown table, ready for a document.
        for row in table(estimates):
            self.stdout.write(row)
        self.stdout.write("Whatever the number of cameras, per month:")
        for item, cost in FIXED_MONTHLY.items():
            self.stdout.write(f"  {item}: {dollars(cost)}")


def _usage(options: dict[str, Any], interval: float, sizes: Sizes) -> Usage:
    return camera_usage(
        sizes,
        options["detected_share"],
        interval=interval,
        hours=options["hours"],
        days=options["days"],
        zones=options["zones"],
        strategy=options["strategy"],
    )
