from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.compaction import (
    LOOKBACK_DAYS,
    CompactionResult,
    DayNotFinished,
    compact_all,
    compact_day,
    compact_finished_days,
)


class Command(BaseCommand):
    help = (
        "Merge the data lake's per-image objects of finished days into one "
        f"object per camera per hour: the last {LOOKBACK_DAYS} finished days, "
        "one day (--day) or every day (--all)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--day", help="one day, as YYYY-MM-DD (UTC)")
        which.add_argument("--all", action="store_true", help="every finished day")

    def handle(self, *args: object, **options: object) -> None:
        day = options["day"]
        if isinstance(day, str):
            results = [self._one(_parse_day(day))]
        elif options["all"]:
            results = compact_all()
        else:
            results = compact_finished_days()

        merged = [result for result in results if result.merged]
        for result in merged:
            self.stdout.write(str(result))
        if not merged:
            self.stdout.write("Nothing to compact.")

    def _one(self, day: date) -> CompactionResult:
        try:
            return compact_day(day)
        except DayNotFinished as error:
            raise CommandError(str(error)) from error


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--day must be a date as YYYY-MM-DD, not {text[:40]!r}")
