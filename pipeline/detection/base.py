"""What every person detector returns and promises."""

from dataclasses import dataclass
from typing import Protocol

import numpy


@dataclass(frozen=True)
class Box:
    """One detected person, in pixels of the image that was passed in."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre: where the person stands on the floor plan."""
        return ((self.x1 + self.x2) / 2, self.y2)


class Detector(Protocol):
    """Finds people in one image."""

    name: str

    def detect(self, image: numpy.ndarray) -> list[Box]:
        """Return the people in an RGB uint8 image of shape (H, W, 3)."""
        ...
