"""Placing detected people in zones, and the pixel boxes of zones."""

import math
from collections.abc import Sequence

from pipeline.detection.base import Box
from zones.geometry import ZoneShape


def people_per_zone(boxes: Sequence[Box], zones: Sequence[ZoneShape]) -> dict[int, int]:
    """Count each person in every zone that holds the bottom centre of
    their box, where their feet are.

    Placing people by their feet keeps a person standing at a zone's edge
    whole, and needs one detection for the whole picture.
    """
    counts = {zone.id: 0 for zone in zones}
    for box in boxes:
        x, y = box.foot
        for zone in zones:
            if zone.holds(x, y):
                counts[zone.id] += 1
    return counts


def pixel_box(zone: ZoneShape, width: int, height: int) -> tuple[int, int, int, int]:
    """The zone's bounding box in pixels, at least one pixel wide."""
    left, top, right, bottom = zone.bounds()
    x1 = min(max(math.floor(left * width), 0), width - 1)
    y1 = min(max(math.floor(top * height), 0), height - 1)
    x2 = max(min(math.ceil(right * width), width), x1 + 1)
    y2 = max(min(math.ceil(bottom * height), height), y1 + 1)
    return x1, y1, x2, y2


def pixel_polygon(
    zone: ZoneShape, width: int, height: int
) -> list[tuple[float, float]]:
    return [(x * width, y * height) for x, y in zone.polygon]
