from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devices.models import Camera


class Command(BaseCommand):
    help = "Create a camera and print its API token, which is shown only once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the camera's id, e.g. library-floor-1")
        parser.add_argument("--interval", type=int, help="seconds between snapshots")
        parser.add_argument("--description", default="")

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"])
        if Camera.objects.filter(pk=name).exists():
            raise CommandError(f"A camera named {name!r} exists already.")

        camera = Camera(id=name, description=options["description"])
        if options["interval"] is not None:
            camera.sampling_interval = options["interval"]
        try:
            camera.full_clean()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages))
        token = camera.set_new_token()
        camera.save()

        self.stdout.write(token)
