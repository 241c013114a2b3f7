"""A stand-in camera that sends frames of a recorded scene in a loop.

    python -m pi.demo --url http://127.0.0.1:8000 --frames demo/frames

The camera's token is read from OCCUPANCY_CAMERA_TOKEN.
"""

import argparse
import itertools
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import requests

from pi.uploader import Uploader, UploadRefused

logger = logging.getLogger("pi.demo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--frames", type=Path, default=Path("demo/frames"))
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    token = os.environ.get("OCCUPANCY_CAMERA_TOKEN", "")
    frames = sorted(args.frames.glob("*.jpg"))
    if not token or not frames:
        logger.error("Need OCCUPANCY_CAMERA_TOKEN and JPEG frames in %s", args.frames)
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run(Uploader(args.url, token), frames, args.interval, stop)
    except KeyboardInterrupt:
        pass
    return 0


def run(
    uploader: Uploader, frames: list[Path], interval: float, stop: threading.Event
) -> None:
    for frame in itertools.cycle(frames):
        if stop.is_set():
            return
        try:
            image_id = uploader.send(frame.read_bytes(), datetime.now(UTC))
            logger.info("Sent %s as %s", frame.name, image_id)
        except UploadRefused as error:
            logger.error("The server refused %s: %s", frame.name, error)
        except requests.RequestException as error:
            logger.warning("Could not reach the server: %s", error)
        stop.wait(interval)


if __name__ == "__main__":
    sys.exit(main())
