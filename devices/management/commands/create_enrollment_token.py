from datetime import timedelta

from django.core.management.base import BaseCommand, CommandParser

from devices.enrollment import create_enrollment_token


class Command(BaseCommand):
    help = "Make a token new cameras register with; it is shown only once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--uses", type=int, default=1, help="how many cameras may use it"
        )
        parser.add_argument(
            "--expires-in", type=float, metavar="HOURS", help="hours it stays valid"
        )
        parser.add_argument("--note", default="", help="what the token is for")

    def handle(self, *args: object, **options: object) -> None:
        uses = options["uses"]
        hours = options["expires_in"]
        if uses < 1:
            self.stderr.write("--uses must be at least 1.")
            raise SystemExit(2)
        if hours is not None and not 0 < hours <= 24 * 365:
            self.stderr.write("--expires-in must be between 0 and 8760 hours.")
            raise SystemExit(2)

        expires_in = timedelta(hours=hours) if hours else None
        _, token = create_enrollment_token(uses, expires_in, str(options["note"]))
        self.stdout.write(token)
