from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.jobs import MAX_DAYS, RefreshFailed, refresh_history
from analytics.query import GRANULARITIES


class Command(BaseCommand):
    help = (
        "Recompute the usual occupancy from the data lake and replace the "
        "historical data. A failed run keeps the previous history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--by",
            choices=GRANULARITIES,
            default="hour",
            help="hour of day (default) or weekday by hour",
        )
        parser.add_argument(
            "--days",
            type=int,
            help=f"days of records to read, 1 to {MAX_DAYS} (default: "
            "HISTORY_DAYS for hour, HISTORY_WEEKDAY_DAYS for weekday_hour)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = refresh_history(options["by"], options["days"])
        except ValueError as error:
            raise CommandError(str(error))
        except RefreshFailed as error:
            raise CommandError(f"History not refreshed, previous kept: {error}")

        self.stdout.write(f"History refreshed: {result}")
