"""What every person detector returns and promises."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Box:
    """One detected person, in fractions (0 to 1) of the image's width and
    height, like zone polygons."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def foot(self) -> tuple[float, float]:
        """Bottom centre: where the person stands on the floor plan."""
        return ((self.x1 + self.x2) / 2, self.y2)


class UnreadableImage(ValueError):
    pass


class Detector(Protocol):
    """Finds people in one image."""

    name: str

    def detect(self, image: bytes) -> list[Box]:
        """Return the people in an encoded image (JPEG or PNG), upright.

        Raises UnreadableImage when the bytes cannot be decoded. Taking the
        encoded image lets each detector read it its own way: a local model
        decodes it, a cloud service receives it as it is.
        """
        ...
