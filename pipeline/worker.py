"""The local trigger of the pipeline stages.

The folders of the image cache and processed images stores are the queue:
a snapshot stays in its folder until its stage has finished with it, so
whatever arrived while the worker was down, or was interrupted, is picked
up on the next pass. Every stage can safely run twice on the same image.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import close_old_connections
from django.utils import timezone

from devices.control_images import expire_control_images
from pipeline.count import count_processed
from pipeline.crop import crop_snapshot
from pipeline.retention import expire_images
from pipeline.storage import walk

logger = logging.getLogger(__name__)

SUMMARY_EVERY = 60.0
CONTROL_SWEEP_EVERY = 60.0
# Seconds between retention sweeps while a pass works through a backlog.
SWEEP_DURING_PASS_EVERY = 5.0
# How many names of the images found on start the log lists.
RESUMED_NAMES = 10


@dataclass
class Tally:
    snapshots: int = 0
    counted: int = 0
    failed: int = 0
    expired: int = 0

    def add(self, other: "Tally") -> None:
        self.snapshots += other.snapshots
        self.counted += other.counted
        self.failed += other.failed
        self.expired += other.expired


class Worker:
    def __init__(self, poll_seconds: float = 0.5) -> None:
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        # Names whose failure was logged, so a retry every pass does not
        # repeat the same error until the image expires.
        self._failing: set[str] = set()
        self._next_control_sweep = 0.0
        # Names the retention sweep removed during the current pass.
        self._swept: set[str] = set()
        self._next_sweep = 0.0
        self._started = False

    def run(self) -> None:
        logger.info(
            "Worker started, looking for snapshots every %.1f s", self.poll_seconds
        )
        total = Tally()
        last_summary = time.monotonic()
        while not self.stopping.is_set():
            total.add(self.run_once())
            if time.monotonic() - last_summary >= SUMMARY_EVERY:
                self._summarise(total)
                total, last_summary = Tally(), time.monotonic()
            self.stopping.wait(self.poll_seconds)
        logger.info("Worker stopped")

    def stop(self) -> None:
        self.stopping.set()

    def run_once(self) -> Tally:
        """One pass over both stages and the retention sweep."""
        close_old_connections()
        if not self._started:
            self._started = True
            _log_resumed()
        tally = Tally()
        self._next_sweep = time.monotonic() + SWEEP_DURING_PASS_EVERY
        self._swept.clear()
        for name in sorted(walk(storages["image_cache"])):
            if name in self._swept:
                continue
            if self._attempt(crop_snapshot, name):
                tally.snapshots += 1
            else:
                tally.failed += 1
            self._sweep_if_due(tally)
        for name in sorted(walk(storages["processed_images"])):
            if name in self._swept:
                continue
            if self._attempt(count_processed, name):
                tally.counted += 1
            else:
                tally.failed += 1
            self._sweep_if_due(tally)
        self._sweep(tally)
        self._sweep_control_images()
        return tally

    def _sweep_if_due(self, tally: Tally) -> None:
        # A long backlog must not hold the retention sweep back until the
        # pass ends: the images at its tail would outlive the limit.
        if time.monotonic() >= self._next_sweep:
            self._sweep(tally)
            self._next_sweep = time.monotonic() + SWEEP_DURING_PASS_EVERY

    def _sweep(self, tally: Tally) -> None:
        expired = expire_images()
        tally.expired += len(expired)
        self._swept.update(expired)
        self._failing.difference_update(expired)

    def _sweep_control_images(self) -> None:
        if time.monotonic() < self._next_control_sweep:
            return
        self._next_control_sweep = time.monotonic() + CONTROL_SWEEP_EVERY
        keep = timedelta(days=settings.CONTROL_IMAGE_RETENTION_DAYS)
        expire_control_images(timezone.now(), keep)

    def _attempt(self, stage: Callable[[str], object], name: str) -> bool:
        try:
            stage(name)
        except Exception:
            if name not in self._failing:
                self._failing.add(name)
                logger.exception(
                    "Could not process %s; will retry until it expires", name
                )
            return False
        self._failing.discard(name)
        return True

    @staticmethod
    def _summarise(tally: Tally) -> None:
        logger.info(
            "Last minute: %d snapshots cropped, %d images counted, %d failures, "
            "%d expired",
            tally.snapshots,
            tally.counted,
            tally.failed,
            tally.expired,
        )


def _log_resumed() -> None:
    """Say what an earlier run, or the time without a worker, left over."""
    stages = (("crop", "image_cache"), ("count", "processed_images"))
    for stage, alias in stages:
        names = sorted(walk(storages[alias]))
        if not names:
            continue
        listed = ", ".join(names[:RESUMED_NAMES])
        if len(names) > RESUMED_NAMES:
            listed += f" and {len(names) - RESUMED_NAMES} more"
        logger.info(
            "Resuming the %s stage of %d image(s) found on start: %s",
            stage,
            len(names),
            listed,
        )
