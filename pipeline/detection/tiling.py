"""People found on the whole picture and on overlapping tiles of it.

A detector that squeezes the picture into a small square input misses
people who are small in it. Each tile of a grid is squeezed into the
same input, so the people on it are seen larger. The whole picture is
still searched too, for the people a tile would cut in pieces.

Merging the boxes must not count anyone twice: a person near a tile's
inner edge appears whole in the neighbouring tile, which overlaps it, so
a box that touches an inner edge of its tile is dropped; and a person
found in several passes leaves boxes that overlap one another, of which
only the most confident is kept. Boxes of one pass are never merged with
each other: the detector has already told apart the people it saw in one
picture, and two people one behind the other overlap as much as two
boxes of one person from different passes do.

A person too large for a tile is found whole on the whole picture only,
and the tiles find pieces of them (arms, legs, the upper body) that
overlap the whole box too little to be taken for the same person. A box
of a tile that lies within such a person is dropped as a part of them.
A person that a tile can hold keeps the smaller boxes within it: there,
they are other people, whom the whole picture saw as one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy

from pipeline.detection.base import Box, UnreadableImage

# How much neighbouring tiles share, as a fraction of a tile's side: wide
# enough that a person of the size tiles are for lies whole in one of
# them.
TILE_OVERLAP = 0.2
# Two boxes of different passes overlapping more than this (intersection
# over union) are taken for the same person. SSD's own suppression uses
# the same value; on the development pictures any value from 0.3 to 0.45
# made the same errors but one, and 0.5 counted some people twice.
SAME_PERSON_IOU = 0.45
# A tile's box whose area lies this much within the box of a person of the
# whole picture too large for the tile is a part of that person. On the
# development pictures any value from 0.7 to 0.95 made the same errors.
PART_OF_PERSON = 0.9
# A box closer than this fraction of its tile's side to an inner edge is
# taken for a person cut by the tile.
CUT_MARGIN = 0.02

_GRID = re.compile(r"^([1-9])x([1-9])$")


class PixelDetector(Protocol):
    """A detector that also takes a decoded BGR picture."""

    name: str

    def detect_pixels(self, image: numpy.ndarray) -> list[Box]: ...

    def detect_regions(
        self, image: numpy.ndarray, regions: Sequence[tuple[int, int, int, int]]
    ) -> list[list[Box]]: ...


@dataclass(frozen=True)
class TileGrid:
    columns: int
    rows: int
    overlap: float = TILE_OVERLAP

    @classmethod
    def parse(cls, text: str) -> TileGrid:
        """A grid written as COLUMNSxROWS, e.g. 2x2."""
        match = _GRID.match(text)
        if match is None:
            raise ValueError(f"a tile grid is written like 2x2, not {text!r}")
        return cls(columns=int(match[1]), rows=int(match[2]))

    @property
    def label(self) -> str:
        return f"{self.columns}x{self.rows}"

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The tiles of a picture, as (left, top, right, bottom) pixels."""
        columns = _spans(width, self.columns, self.overlap)
        rows = _spans(height, self.rows, self.overlap)
        return [(x1, y1, x2, y2) for y1, y2 in rows for x1, x2 in columns]


class TiledDetector:
    """Detects on the whole picture, then on each tile of a grid.

    input_side is the side of the square the inner detector shrinks every
    picture to.
    """

    def __init__(self, inner: PixelDetector, grid: TileGrid, input_side: int) -> None:
        self.inner = inner
        self.grid = grid
        self.input_side = input_side
        # The data lake names the detector of every count: it must say
        # that tiles were used.
        self.name = f"{inner.name}+tiles{grid.label}"

    def detect(self, image: bytes) -> list[Box]:
        pixels = cv2.imdecode(numpy.frombuffer(image, numpy.uint8), cv2.IMREAD_COLOR)
        if pixels is None:
            raise UnreadableImage("the image cannot be decoded")
        return self.detect_pixels(pixels)

    def detect_pixels(self, image: numpy.ndarray) -> list[Box]:
        height, width = image.shape[:2]
        if not self.worth_tiling(width, height):
            return self.inner.detect_pixels(image)
        tiles = self.grid.tiles(width, height)
        whole, *on_tiles = self.inner.detect_regions(
            image, [(0, 0, width, height), *tiles]
        )
        return merge_passes(
            [
                whole,
                *(
                    _without_parts(
                        _whole_on_tile(boxes, tile, width, height),
                        whole,
                        _fraction_of(tile, width, height),
                    )
                    for boxes, tile in zip(on_tiles, tiles, strict=True)
                ),
            ]
        )

    def worth_tiling(self, width: int, height: int) -> bool:
        """Whether tiles would show people larger than the whole picture
        does: not when the picture already fits the detector's input."""
        return width > self.input_side or height > self.input_side

    def passes(self, width: int, height: int) -> int:
        """How many times the inner detector runs on such a picture."""
        if not self.worth_tiling(width, height):
            return 1
        return 1 + self.grid.columns * self.grid.rows

    def tile_people(
        self, image: numpy.ndarray, tile: tuple[int, int, int, int]
    ) -> list[Box]:
        """The people found whole on one tile, in fractions of the picture."""
        height, width = image.shape[:2]
        [boxes] = self.inner.detect_regions(image, [tile])
        return _whole_on_tile(boxes, tile, width, height)


def merge_passes(passes: Sequence[Sequence[Box]]) -> list[Box]:
    """The people found by several passes, each once: the most confident
    box of each person is kept."""
    found = [(box, index) for index, boxes in enumerate(passes) for box in boxes]
    found.sort(key=lambda item: item[0].score, reverse=True)
    kept: list[tuple[Box, int]] = []
    for box, index in found:
        if all(
            index == other_index or overlap(box, other) <= SAME_PERSON_IOU
            for other, other_index in kept
        ):
            kept.append((box, index))
    return [box for box, _ in kept]


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, 0 when they do not meet."""
    width = min(a.x2, b.x2) - max(a.x1, b.x1)
    height = min(a.y2, b.y2) - max(a.y1, b.y1)
    if width <= 0 or height <= 0:
        return 0.0
    shared = width * height
    return shared / (_area(a) + _area(b) - shared)


def _without_parts(
    boxes: list[Box], whole: list[Box], tile: tuple[float, float]
) -> list[Box]:
    """The boxes of a tile (of that width and height, in fractions of the
    picture) that are not parts of a person of the whole picture."""
    return [
        box for box in boxes if not any(_is_part(box, person, tile) for person in whole)
    ]


def _is_part(box: Box, person: Box, tile: tuple[float, float]) -> bool:
    """Whether a tile's box lies within a person of the whole picture who
    is too large for that tile to hold: then it is a part of them."""
    too_large = person.x2 - person.x1 > tile[0] or person.y2 - person.y1 > tile[1]
    width = min(box.x2, person.x2) - max(box.x1, person.x1)
    height = min(box.y2, person.y2) - max(box.y1, person.y1)
    if not too_large or width <= 0 or height <= 0:
        return False
    return width * height / _area(box) >= PART_OF_PERSON


def _fraction_of(
    tile: tuple[int, int, int, int], width: int, height: int
) -> tuple[float, float]:
    left, top, right, bottom = tile
    return (right - left) / width, (bottom - top) / height


def _area(box: Box) -> float:
    return (box.x2 - box.x1) * (box.y2 - box.y1)


def _spans(length: int, count: int, overlap: float) -> list[tuple[int, int]]:
    if count == 1:
        return [(0, length)]
    size = length / (count - (count - 1) * overlap)
    step = (length - size) / (count - 1)
    return [
        (round(index * step), min(round(index * step + size), length))
        for index in range(count)
    ]


def _whole_on_tile(
    boxes: list[Box], tile: tuple[int, int, int, int], width: int, height: int
) -> list[Box]:
    """The boxes of one tile, in fractions of the picture, less those of
    people cut by an edge the tile shares with the rest of the picture:
    the neighbouring tile sees them whole."""
    left, top, right, bottom = tile
    inner_edges = (left > 0, top > 0, right < width, bottom < height)
    return [
        _to_picture(box, tile, width, height)
        for box in boxes
        if not _is_cut(box, inner_edges)
    ]


def _is_cut(box: Box, inner_edges: tuple[bool, bool, bool, bool]) -> bool:
    left, top, right, bottom = inner_edges
    return (
        (left and box.x1 < CUT_MARGIN)
        or (top and box.y1 < CUT_MARGIN)
        or (right and box.x2 > 1 - CUT_MARGIN)
        or (bottom and box.y2 > 1 - CUT_MARGIN)
    )


def _to_picture(
    box: Box, tile: tuple[int, int, int, int], width: int, height: int
) -> Box:
    left, top, right, bottom = tile
    tile_width, tile_height = right - left, bottom - top
    return Box(
        x1=(left + box.x1 * tile_width) / width,
        y1=(top + box.y1 * tile_height) / height,
        x2=(left + box.x2 * tile_width) / width,
        y2=(top + box.y2 * tile_height) / height,
        score=box.score,
    )
