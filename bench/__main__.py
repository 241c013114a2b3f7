"""Measure the detector's accuracy and the pipeline's own cost.

    make bench

Everything is measured in this one run, on this machine, and printed as
figures relative to each other: the detector's mean absolute error on the
development pictures, and the time the pipeline spends around each
detector call as a fraction of the detector's own time. At the end, the
web server as `make run` starts it, under load and through a soak of
10,000 uploads (bench.load, bench.soak); either failing its checks makes
the run exit 1.
"""

import atexit
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "tests" / "images"

# Known people counts of the development set (tests/images/SOURCES.md).
DEVELOPMENT_SET = {
    "vtest_000.jpg": 3,
    "vtest_150.jpg": 8,
    "vtest_300.jpg": 6,
    "vtest_450.jpg": 3,
    "vtest_600.jpg": 6,
    "vtest_750.jpg": 8,
    "basketball1.png": 2,
    "basketball2.png": 2,
    "studentsSample_input.jpg": 5,
    "scenetext01.jpg": 2,
    "left01.jpg": 1,
    "person.jpg": 1,
    "kite.jpg": 10,
    "astronaut.png": 1,
    "grace_hopper.jpg": 1,
    "dog.jpg": 0,
    "horses.jpg": 0,
    "fruits.jpg": 0,
    "building.jpg": 0,
    "coffee.png": 0,
    "chelsea.png": 0,
}
PIPELINE_FRAMES = sorted((ROOT / "demo" / "frames").glob("*.jpg"))
ROUNDS = 3


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="occupancy-bench-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ["OCCUPANCY_DATA_DIR"] = str(data_dir)
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "occupancy_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    accuracy()
    for strategy in ("assign", "crop"):
        overhead(strategy)
    from bench.counting import counting_benchmark

    counting_benchmark(DEVELOPMENT_SET, IMAGES)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak memory of this process: {peak:.0f} MiB")

    from bench.history import history_benchmark

    history_benchmark()
    from bench.load import load_benchmark
    from bench.soak import soak_benchmark

    # Both run whatever the other found; either failing fails the bench.
    loaded = load_benchmark()
    soaked = soak_benchmark()
    return 0 if loaded and soaked else 1


def accuracy() -> None:
    from django.conf import settings

    from pipeline.detectors import get_detector

    detector = get_detector()
    print(
        f"Detector {detector.name}, score threshold {settings.DETECTOR_SCORE_THRESHOLD}"
    )
    print(f"{'picture':28} {'true':>4} {'found':>5} {'ms':>6}")
    errors, false_people, times = [], 0, []
    for name, truth in DEVELOPMENT_SET.items():
        data = (IMAGES / name).read_bytes()
        detector.detect(data)  # warm-up
        started = time.perf_counter()
        found = len(detector.detect(data))
        times.append(time.perf_counter() - started)
        errors.append(abs(found - truth))
        if truth == 0:
            false_people += found
        print(f"{name:28} {truth:4d} {found:5d} {times[-1] * 1000:6.1f}")
    empty = sum(1 for truth in DEVELOPMENT_SET.values() if truth == 0)
    print(
        f"Mean absolute error: {statistics.mean(errors):.2f} people per picture "
        f"over {len(errors)} pictures; {false_people} people found on {empty} "
        f"empty pictures; median {statistics.median(times) * 1000:.1f} ms"
    )


class TimedDetector:
    """Wraps the detector to add up the time spent inside it."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.name = detector.name
        self.seconds = 0.0
        self.calls = 0

    def detect(self, image):
        started = time.perf_counter()
        try:
            return self.detector.detect(image)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


def overhead(strategy: str) -> None:
    from django.conf import settings

    import pipeline.count
    from devices.demo import DEMO_CAMERA, prepare_demo_camera
    from pipeline.count import count_processed
    from pipeline.crop import crop_snapshot
    from pipeline.detectors import get_detector
    from pipeline.uploads import accept_snapshot

    settings.COUNT_STRATEGY = strategy
    prepare_demo_camera()
    timed = TimedDetector(get_detector())
    pipeline.count.get_detector = lambda: timed
    frames = [path.read_bytes() for path in PIPELINE_FRAMES]
    start = datetime.now(UTC) - timedelta(hours=1)

    keys = []
    for index, data in enumerate(frames * ROUNDS):
        captured = start + timedelta(seconds=index)
        keys.append(accept_snapshot(DEMO_CAMERA, data, captured))
    started = time.perf_counter()
    for key in keys:
        for name in crop_snapshot(key.name):
            count_processed(name)
    total = time.perf_counter() - started
    pipeline.count.get_detector = get_detector

    snapshots = len(keys)
    detector_ms = timed.seconds / snapshots * 1000
    own_ms = (total - timed.seconds) / snapshots * 1000
    print(
        f"\nStrategy {strategy}: {snapshots} snapshots of the demo camera "
        f"(768x576, 2 zones)\n"
        f"  detector calls per snapshot: {timed.calls / snapshots:.1f}\n"
        f"  detector time per snapshot: {detector_ms:.1f} ms\n"
        f"  pipeline's own time per snapshot: {own_ms:.1f} ms "
        f"(crop, decode, stores, data lake)\n"
        f"  overhead as a fraction of detector time: "
        f"{own_ms / detector_ms:.1%}"
    )


if __name__ == "__main__":
    sys.exit(main())
