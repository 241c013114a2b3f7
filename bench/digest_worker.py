"""The local pipeline worker with a detector that costs next to nothing.

    python -m bench.digest_worker      (started by bench.soak)

The soak benchmark pushes thousands of snapshots through the pipeline's
own stages; the real detector would spend a second of CPU on each. Here
the count stage gets people placed where the digest of the image's bytes
says: the same image always gives the same boxes, and different images
give different counts. Everything else is the worker `manage.py worker`
runs, with its settings and its handling of SIGTERM.
"""

import hashlib
import signal
import sys

from pipeline.detection.base import Box

MAX_PEOPLE = 6
HALF_WIDTH, HEIGHT = 0.04, 0.2


class DigestDetector:
    name = "bench-digest"

    def detect(self, image: bytes) -> list[Box]:
        digest = hashlib.sha256(image).digest()
        boxes = []
        for index in range(digest[0] % (MAX_PEOPLE + 1)):
            # Feet anywhere across the picture, in its lower two thirds.
            x = digest[1 + 2 * index] / 255
            y = 1 / 3 + digest[2 + 2 * index] / 255 * 2 / 3
            boxes.append(
                Box(
                    max(x - HALF_WIDTH, 0.0),
                    max(y - HEIGHT, 0.0),
                    min(x + HALF_WIDTH, 1.0),
                    y,
                    score=0.9,
                )
            )
        return boxes


def main() -> int:
    import django

    django.setup()
    from django.conf import settings

    import pipeline.count
    from pipeline.worker import Worker

    detector = DigestDetector()
    # The count stage looks its detector up by this name on every image.
    pipeline.count.get_detector = lambda: detector
    worker = Worker(poll_seconds=settings.WORKER_POLL_SECONDS)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
