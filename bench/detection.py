"""Each tile grid: its accuracy, and its cost per snapshot.

    part of `make bench`

For each DETECTOR_TILES setting, in this one run: the mean absolute error
on the development pictures and the people found on the empty ones, the
detector passes per picture, and the time per snapshot of the demo camera
for the assign and crop strategies, split between the detector and the
pipeline's own work. The detector runs on every snapshot here (no
skipping), so that the times are those of a snapshot that is detected.
"""

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRIDS = ("off", "2x1", "2x2", "3x2")
STRATEGIES = ("assign", "crop")
# Every other frame of the demo camera: enough for a stable median.
DEMO_FRAMES = sorted((ROOT / "demo" / "frames").glob("*.jpg"))[::2]


@dataclass(frozen=True)
class Accuracy:
    mean_error: float
    false_people: int
    empty_pictures: int
    misses: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class SnapshotTime:
    detector_ms: float
    own_ms: float
    passes: float
    calls: float

    @property
    def total_ms(self) -> float:
        return self.detector_ms + self.own_ms


class PassCounter:
    """Counts the passes of the model and the time spent in the detector
    the pipeline uses, whatever tile grid wraps the model."""

    def __init__(self, model) -> None:
        self.model = model
        self.passes = 0
        self.calls = 0
        self.seconds = 0.0
        # Every pass, on a whole picture or on the tiles of one, goes
        # through detect_regions.
        self._model_detect = model.detect_regions
        model.detect_regions = self._count_passes

    def _count_passes(self, image, regions):
        self.passes += len(regions)
        return self._model_detect(image, regions)

    def release(self) -> None:
        del self.model.detect_regions

    def wrap(self, detector):
        counter = self

        class Timed:
            name = detector.name

            def detect(self, image: bytes):
                started = time.perf_counter()
                try:
                    return detector.detect(image)
                finally:
                    counter.seconds += time.perf_counter() - started
                    counter.calls += 1

        return Timed()


def compare_tiles(development: Mapping[str, int], images: Path) -> dict:
    """Print and return the figures of every grid."""
    from django.conf import settings

    saved = settings.DETECTOR_TILES, settings.DETECT_EVERY, settings.COUNT_STRATEGY
    settings.DETECT_EVERY = 1
    results: dict = {grid: {} for grid in GRIDS}
    try:
        for grid in GRIDS:
            settings.DETECTOR_TILES = grid
            results[grid]["accuracy"] = accuracy(development, images)
        for (grid, strategy), timing in snapshot_times().items():
            results[grid][strategy] = timing
    finally:
        settings.DETECTOR_TILES, settings.DETECT_EVERY, settings.COUNT_STRATEGY = saved
    _print(results, len(development))
    return results


def accuracy(development: Mapping[str, int], images: Path) -> Accuracy:
    from pipeline.detectors import get_detector

    detector = get_detector()
    errors, false_people, misses = [], 0, {}
    for name, truth in development.items():
        found = len(detector.detect((images / name).read_bytes()))
        errors.append(abs(found - truth))
        if truth == 0:
            false_people += found
        if found != truth:
            misses[name] = (found, truth)
    empty = sum(1 for truth in development.values() if truth == 0)
    return Accuracy(statistics.mean(errors), false_people, empty, misses)


def snapshot_times() -> dict[tuple[str, str], SnapshotTime]:
    """Time the demo frames through both stages under every setting.

    The settings take turns frame by frame, and each figure is a median,
    so that a machine busy with something else for a while slows all of
    them alike rather than one.
    """
    from django.conf import settings

    import pipeline.count
    from devices.demo import DEMO_CAMERA, ensure_demo_camera
    from pipeline.detectors import get_detector

    ensure_demo_camera()
    settings.DETECTOR_TILES = "off"
    counter = PassCounter(get_detector())
    pipeline.count.get_detector = lambda: counter.wrap(get_detector())
    samples: dict[tuple[str, str], list[tuple[float, float, int, int]]] = {}
    start = datetime.now(UTC) - timedelta(days=1)
    try:
        _snapshot(DEMO_CAMERA, DEMO_FRAMES[0], start)  # loads what all need
        for n, frame in enumerate(DEMO_FRAMES):
            for index, (grid, strategy) in enumerate(_settings()):
                settings.DETECTOR_TILES, settings.COUNT_STRATEGY = grid, strategy
                at = start + timedelta(minutes=1 + n * 10 + index)
                sample = _timed(counter, DEMO_CAMERA, frame, at)
                samples.setdefault((grid, strategy), []).append(sample)
    finally:
        pipeline.count.get_detector = get_detector
        counter.release()
    return {key: _median(values) for key, values in samples.items()}


def _settings() -> list[tuple[str, str]]:
    return [(grid, strategy) for grid in GRIDS for strategy in STRATEGIES]


def _snapshot(camera: str, frame: Path, at: datetime) -> None:
    from pipeline.count import count_processed
    from pipeline.crop import crop_snapshot
    from pipeline.uploads import accept_snapshot

    key = accept_snapshot(camera, frame.read_bytes(), at)
    for name in crop_snapshot(key.name):
        count_processed(name)


def _timed(
    counter: PassCounter, camera: str, frame: Path, at: datetime
) -> tuple[float, float, int, int]:
    counter.seconds, counter.passes, counter.calls = 0.0, 0, 0
    started = time.perf_counter()
    _snapshot(camera, frame, at)
    total = time.perf_counter() - started
    return total, counter.seconds, counter.passes, counter.calls


def _median(samples: list[tuple[float, float, int, int]]) -> SnapshotTime:
    return SnapshotTime(
        detector_ms=statistics.median(s[1] for s in samples) * 1000,
        own_ms=statistics.median(s[0] - s[1] for s in samples) * 1000,
        passes=statistics.mean(s[2] for s in samples),
        calls=statistics.mean(s[3] for s in samples),
    )


def _print(results: dict, pictures: int) -> None:
    single = results["off"]["assign"]
    print(
        f"\nTile grids (DETECTOR_TILES): accuracy on the {pictures} development "
        f"pictures, and time per snapshot\nof the demo camera (768x576, 2 zones, "
        f"{len(DEMO_FRAMES)} frames, the detector run on each)"
    )
    print(
        f"{'tiles':6} {'error':>6} {'empty':>6} {'strategy':>8} {'calls':>6} "
        f"{'passes':>6} {'detector':>9} {'x single':>8} {'own':>7} {'total':>8} "
        f"{'x single':>8}"
    )
    for grid, figures in results.items():
        found = figures["accuracy"]
        for strategy in STRATEGIES:
            timing = figures[strategy]
            error = f"{found.mean_error:6.2f}" if strategy == "assign" else " " * 6
            empty = (
                f"{found.false_people:>3}/{found.empty_pictures:<2}"
                if strategy == "assign"
                else " " * 6
            )
            print(
                f"{grid:6} {error} {empty} {strategy:>8} {timing.calls:6.1f} "
                f"{timing.passes:6.1f} {timing.detector_ms:6.1f} ms "
                f"{timing.detector_ms / single.detector_ms:7.2f}x "
                f"{timing.own_ms:4.1f} ms {timing.total_ms:5.1f} ms "
                f"{timing.total_ms / single.total_ms:7.2f}x"
            )
    print(
        "  error: mean absolute error, people per picture; empty: people found "
        "on the pictures without any;\n  calls: detector calls per snapshot; "
        "passes: runs of the model per snapshot; x single: detector time,\n  then "
        "total time per snapshot, over that of assign without tiles (one pass)."
    )
    for grid, figures in results.items():
        misses = ", ".join(
            f"{name} {found} of {truth}"
            for name, (found, truth) in figures["accuracy"].misses.items()
        )
        print(f"  {grid} misses: {misses or 'none'}")
