import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from pipeline.detectors import get_detector
from pipeline.worker import Worker


class Command(BaseCommand):
    help = "Run the local pipeline worker: crop and count every snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="process what is waiting, then exit"
        )

    def handle(self, *args: object, **options: object) -> None:
        worker = Worker(poll_seconds=settings.WORKER_POLL_SECONDS)
        get_detector()  # load the model before the first snapshot waits for it
        if options["once"]:
            tally = worker.run_once()
            self.stdout.write(
                f"{tally.snapshots} cropped, {tally.counted} counted, "
                f"{tally.failed} failed, {tally.expired} expired"
            )
            return

        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        worker.run()
