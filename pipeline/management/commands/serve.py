from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from waitress import serve

from occupancy_site.wsgi import application


class Command(BaseCommand):
    help = "Serve the admin site and the API with a production WSGI server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: object, **options: object) -> None:
        serve(
            application,
            host=options["host"],
            port=options["port"],
            threads=options["threads"],
            # Refuse oversized bodies before they reach Django.
            max_request_body_size=settings.MAX_UPLOAD_BYTES + 64 * 1024,
            ident="occupancy",
        )
