from django.core.management.base import BaseCommand

from zones.selections import mirror_all


class Command(BaseCommand):
    help = "Make the zone selections store match the zones in the database."

    def handle(self, *args: object, **options: object) -> None:
        cameras = mirror_all()
        self.stdout.write(f"Zone selections written for {cameras} camera(s).")
