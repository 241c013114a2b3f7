from django.conf import settings
from django.core.management.base import BaseCommand

from analytics.scheduler import Scheduler


class Command(BaseCommand):
    help = (
        "Refresh the history now if it missed its daily run, then every day "
        "at HISTORY_REFRESH_AT (site time), after compacting the data lake's "
        "finished days. `manage.py run` starts it."
    )

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(
            f"History scheduler: daily at {settings.HISTORY_REFRESH_AT} "
            f"({settings.TIME_ZONE})"
        )
        try:
            Scheduler().run()
        except KeyboardInterrupt:
            return
