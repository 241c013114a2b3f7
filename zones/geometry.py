"""Zone polygons in coordinates normalised to the image (0 to 1).

Normalised coordinates survive a change of camera resolution. Polygons
arrive from browsers and scripts, so every one is checked here before it
is stored, whatever the client promised.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import shapely
from django.core.exceptions import ValidationError
from shapely.geometry import Polygon

MAX_VERTICES = 200
# A zone smaller than this share of the picture cannot hold a person.
MIN_AREA = 0.0005

Point = tuple[float, float]


def parse_polygon(value: Any) -> tuple[Point, ...]:
    """Check a polygon and return it as a tuple of (x, y) pairs.

    A closing vertex equal to the first one is accepted and dropped.
    """
    if not isinstance(value, list | tuple):
        raise ValidationError("A polygon is a list of [x, y] points.")
    points = [_parse_point(item, index) for index, item in enumerate(value)]
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    _refuse_repeats(points)
    if len(points) < 3:
        raise ValidationError("A polygon needs at least 3 distinct vertices.")
    if len(points) > MAX_VERTICES:
        raise ValidationError(f"A polygon has at most {MAX_VERTICES} vertices.")

    shape = Polygon(points)
    # A polygon whose vertices lie on one line has no inside at all; say
    # so rather than that its edges cross.
    if shape.convex_hull.area < MIN_AREA:
        raise ValidationError("The polygon is too small to hold a person.")
    if not shape.is_valid:
        raise ValidationError("The polygon's edges must not cross each other.")
    if shape.area < MIN_AREA:
        raise ValidationError("The polygon is too small to hold a person.")
    return tuple(points)


def _refuse_repeats(points: list[Point]) -> None:
    first_seen: dict[Point, int] = {}
    for index, point in enumerate(points):
        if point in first_seen:
            raise ValidationError(
                f"Vertex {index + 1} repeats vertex {first_seen[point] + 1}."
            )
        first_seen[point] = index


def _parse_point(item: Any, index: int) -> Point:
    if not isinstance(item, list | tuple) or len(item) != 2:
        raise ValidationError(f"Vertex {index + 1} is not an [x, y] pair.")
    coordinates = []
    for number in item:
        # bool is an int in Python; true and false are not coordinates.
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValidationError(
                f"Vertex {index + 1} has a coordinate that is not a number."
            )
        if not 0.0 <= number <= 1.0:
            raise ValidationError(
                f"Vertex {index + 1} lies outside the picture (0 to 1)."
            )
        coordinates.append(float(number))
    return (coordinates[0], coordinates[1])


@dataclass(frozen=True)
class ZoneShape:
    """What the pipeline knows of a zone: no database row behind it."""

    id: int
    name: str
    polygon: tuple[Point, ...]

    @cached_property
    def _shape(self) -> Polygon:
        shape = Polygon(self.polygon)
        shapely.prepare(shape)
        return shape

    def holds(self, x: float, y: float) -> bool:
        """Whether the normalised point lies inside or on the edge."""
        return self._shape.covers(shapely.Point(x, y))

    def bounds(self) -> tuple[float, float, float, float]:
        """The bounding box as (left, top, right, bottom), normalised."""
        return self._shape.bounds

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "polygon": list(self.polygon)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ZoneShape":
        polygon = tuple((float(x), float(y)) for x, y in data["polygon"])
        return cls(id=int(data["id"]), name=str(data["name"]), polygon=polygon)
