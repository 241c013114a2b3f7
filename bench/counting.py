"""Counting better and cheaper: tiles, skipping, and what they cost.

    part of `make bench`

Runs the three measurements in order: each tile grid's accuracy and time
per snapshot (bench.detection), the detector calls that skipping
unchanged snapshots saves (bench.skipping), and the AWS cost per camera
that follows from them (bench.cost).
"""

from collections.abc import Mapping
from pathlib import Path

from bench.cost import report
from bench.detection import compare_tiles
from bench.skipping import compare_skipping


def counting_benchmark(development: Mapping[str, int], images: Path) -> None:
    compare_tiles(development, images)
    outcomes = compare_skipping()
    shares = {
        strategy: {o.name: o.detected_share for o in outcomes if o.strategy == strategy}
        for strategy in ("assign", "crop")
    }
    report(shares)
