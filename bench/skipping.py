"""Skipping unchanged snapshots: detector calls saved, counts changed.

    part of `make bench`

Two sequences of the demo camera, one snapshot a minute, each counted
twice through both stages: once with the detector run on every snapshot
(DETECT_EVERY=1), once with the configured skipping. It reports the
detector calls saved and how many zone counts differ from those of the
first run, and how steady the live figure is with a median of three.

- walkway: frames of the OpenCV walkway video two seconds apart (the
  files in bench/frames/), where people always move;
- quiet: four of those frames, each sent ten times as a camera over a
  still scene would send it: with sensor noise, a small change of
  exposure and fresh JPEG compression every time.
"""

import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FRAMES = sorted((ROOT / "bench" / "frames").glob("*.jpg"))
QUIET_SCENES = 4
QUIET_REPEATS = 10
NOISE_LEVELS = 3.0
EXPOSURE_LEVELS = 6.0
SMOOTHING = 3


@dataclass(frozen=True)
class Run:
    counts: list[dict[str, int]]
    live: list[dict[str, int]]
    calls: int


@dataclass(frozen=True)
class Outcome:
    name: str
    strategy: str
    snapshots: int
    every: Run
    skipping: Run

    @property
    def detected_share(self) -> float:
        """The share of images the detector ran on when skipping."""
        return self.skipping.calls / self.every.calls

    def changed(self) -> tuple[int, int]:
        pairs = _zone_pairs(self.every.counts, self.skipping.counts)
        return sum(1 for a, b in pairs if a != b), len(pairs)

    def mean_difference(self) -> float:
        pairs = _zone_pairs(self.every.counts, self.skipping.counts)
        return statistics.mean(abs(a - b) for a, b in pairs)


def walkway() -> list[bytes]:
    return [path.read_bytes() for path in FRAMES]


def quiet(seed: int = 20261203) -> list[bytes]:
    rng = numpy.random.default_rng(seed)
    step = len(FRAMES) // QUIET_SCENES
    scenes = [FRAMES[n * step].read_bytes() for n in range(QUIET_SCENES)]
    return [_retaken(scene, rng) for scene in scenes for _ in range(QUIET_REPEATS)]


def compare_skipping(strategies: Sequence[str] = ("assign", "crop")) -> list[Outcome]:
    from django.conf import settings

    print(
        f"\nSkipping unchanged snapshots (UNCHANGED_THRESHOLD="
        f"{settings.UNCHANGED_THRESHOLD}%, DETECT_EVERY={settings.DETECT_EVERY}, "
        f"DETECTOR_TILES={settings.DETECTOR_TILES}), demo camera, 2 zones"
    )
    sequences = {"walkway": walkway(), "quiet": quiet()}
    for name, frames in sequences.items():
        shares = cell_changes(frames)
        print(
            f"  {name}: cells changed from one snapshot to the next: least "
            f"{min(shares):.1%}, median {statistics.median(shares):.1%}, most "
            f"{max(shares):.1%}"
        )
    saved_strategy = settings.COUNT_STRATEGY
    outcomes = []
    try:
        for strategy in strategies:
            settings.COUNT_STRATEGY = strategy
            for name, frames in sequences.items():
                outcomes.append(measure(name, strategy, frames))
                _print(outcomes[-1])
    finally:
        settings.COUNT_STRATEGY = saved_strategy
    return outcomes


def measure(name: str, strategy: str, frames: Sequence[bytes]) -> Outcome:
    from django.conf import settings

    configured = settings.DETECT_EVERY
    saved_window = settings.SMOOTHING_WINDOW
    settings.SMOOTHING_WINDOW = SMOOTHING
    try:
        settings.DETECT_EVERY = 1
        every = run(frames)
        settings.DETECT_EVERY = configured
        skipping = run(frames)
    finally:
        settings.DETECT_EVERY = configured
        settings.SMOOTHING_WINDOW = saved_window
    return Outcome(name, strategy, len(frames), every, skipping)


def run(frames: Sequence[bytes]) -> Run:
    """Count the frames from a clean start, one a minute."""
    import pipeline.count
    from devices.demo import DEMO_CAMERA, ensure_demo_camera
    from pipeline.count import count_processed
    from pipeline.crop import crop_snapshot
    from pipeline.detectors import get_detector
    from pipeline.models import CurrentCount
    from pipeline.uploads import accept_snapshot

    ensure_demo_camera()
    CurrentCount.objects.all().delete()
    calls = []
    detector = get_detector()

    def counting():
        calls.append(1)
        return detector

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    counts, live = [], []
    pipeline.count.get_detector = counting
    try:
        for n, data in enumerate(frames):
            key = accept_snapshot(DEMO_CAMERA, data, start + timedelta(minutes=n))
            zones = [
                count
                for name in crop_snapshot(key.name)
                for count in count_processed(name)
            ]
            counts.append({count.zone_name: count.people for count in zones})
            live.append({count.zone_name: count.live for count in zones})
    finally:
        pipeline.count.get_detector = get_detector
    return Run(counts, live, len(calls))


def cell_changes(frames: Sequence[bytes]) -> list[float]:
    """The share of thumbnail cells that changed between neighbours."""
    from django.conf import settings

    from pipeline import unchanged
    from zones.geometry import ZoneShape

    whole = ZoneShape(0, "whole", ((0, 0), (1, 0), (1, 1), (0, 1)))
    prints = [
        unchanged.fingerprint(
            unchanged.thumbnail(data, settings.MAX_IMAGE_PIXELS), whole
        )
        for data in frames
    ]
    return [
        unchanged.changed_share(before, after)
        for before, after in zip(prints, prints[1:], strict=False)
    ]


def steadiness(series: Sequence[dict[str, int]]) -> float:
    """The mean change of a zone's figure from one snapshot to the next."""
    changes = [
        abs(after[zone] - before[zone])
        for before, after in zip(series, series[1:], strict=False)
        for zone in after
        if zone in before
    ]
    return statistics.mean(changes) if changes else 0.0


def _print(outcome: Outcome) -> None:
    changed, pairs = outcome.changed()
    every = outcome.every
    print(
        f"  {outcome.strategy}, {outcome.name}: {outcome.snapshots} snapshots; "
        f"detector calls {every.calls} when run on every image, "
        f"{outcome.skipping.calls} when skipping ({1 - outcome.detected_share:.0%} "
        f"saved);\n"
        f"    zone counts that differ from running it every time: {changed} of "
        f"{pairs} (mean difference {outcome.mean_difference():.2f} people);\n"
        f"    change of a zone's figure per snapshot: raw "
        f"{steadiness(every.counts):.2f}, median of {SMOOTHING} "
        f"{steadiness(every.live):.2f}"
    )


def _zone_pairs(
    first: Sequence[dict[str, int]], second: Sequence[dict[str, int]]
) -> list[tuple[int, int]]:
    return [
        (a[zone], b[zone])
        for a, b in zip(first, second, strict=True)
        for zone in a
        if zone in b
    ]


def _retaken(data: bytes, rng: numpy.random.Generator) -> bytes:
    pixels = numpy.asarray(Image.open(io.BytesIO(data)).convert("RGB"), numpy.float32)
    noise = rng.normal(0, NOISE_LEVELS, pixels.shape)
    exposure = rng.uniform(-EXPOSURE_LEVELS, EXPOSURE_LEVELS)
    again = numpy.clip(pixels + noise + exposure, 0, 255).astype(numpy.uint8)
    out = io.BytesIO()
    Image.fromarray(again).save(out, format="JPEG", quality=80)
    return out.getvalue()
