from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pipeline.aws_costs import FIXED_MONTHLY, PRICES_DATE, per_camera


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
        parser.add_argument("--zones", type=int, default=2)
        parser.add_argument("--strategy", choices=["assign", "crop"], default="assign")

    def handle(self, *args: Any, **options: Any) -> None:
        intervals = options["interval"] or [10.0, 60.0, 300.0]
        try:
            estimates = [
                per_camera(i, options["zones"], options["strategy"]) for i in intervals
            ]
        except ValueError as error:
            raise CommandError(str(error))

        self.stdout.write(
            f"One camera, {options['zones']} zones, {options['strategy']}, per "
            f"30-day month, us-east-1 list prices of {PRICES_DATE}, no free tier:"
        )
        # A Markdown table, ready for a document.
        self._row(["service", *(f"every {e.interval:g} s" for e in estimates)])
        self._row(["---"] * (len(estimates) + 1))
        for service in estimates[0].lines:
            self._row([service, *(_dollars(e.lines[service]) for e in estimates)])
        self._row(["total", *(_dollars(e.total) for e in estimates)])
        self.stdout.write("Whatever the number of cameras, per month:")
        for item, cost in FIXED_MONTHLY.items():
            self.stdout.write(f"  {item}: ${cost:,.2f}")

    def _row(self, cells: list[str]) -> None:
        self.stdout.write("| " + " | ".join(cells) + " |")


def _dollars(amount: float) -> str:
    if 0 < amount < 0.005:
        return "< $0.01"
    return f"${amount:,.2f}"
