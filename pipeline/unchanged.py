"""Telling whether a snapshot shows what the detector saw last time.

A camera over a quiet room sends the same picture again and again, and
every detector call is paid for in time or money. A snapshot is compared
with the last one the detector ran on through a thumbnail: 32x24 cells of
grey, each the mean of a block of the picture, so that sensor noise and
compression artefacts average out and no person can be recognised in it.
What is kept between snapshots is that thumbnail and a digest of the
zone's polygon (the zone's fingerprint), never the picture.

A cell counts as changed when its grey moved by more than CELL_CHANGE
levels once a change of the whole picture's brightness (a cloud, a lamp,
the camera's exposure) is taken out. A person walking in changes a few
cells strongly; noise changes many cells slightly; so the share of
changed cells tells them apart where a mean difference would not.
"""

import hashlib
import json

import numpy
from PIL import Image

from pipeline.images import check_snapshot
from zones.geometry import ZoneShape

THUMBNAIL_SIZE = (32, 24)
CELLS = THUMBNAIL_SIZE[0] * THUMBNAIL_SIZE[1]
CELL_CHANGE = 16
DIGEST_BYTES = 4


def thumbnail(image: bytes, max_pixels: int) -> bytes:
    """The grey thumbnail of an encoded JPEG, one byte per cell.

    Raises pipeline.images.InvalidImage when the JPEG cannot be read.
    """
    # check_snapshot decodes at an eighth of the size: cheap, and plenty
    # for 32x24 cells.
    small = check_snapshot(image, max_pixels).convert("L")
    cells = small.resize(THUMBNAIL_SIZE, Image.Resampling.BOX)
    return cells.tobytes()


def fingerprint(thumb: bytes, zone: ZoneShape) -> bytes:
    """What a zone's count was detected on: its polygon and the picture.

    A redrawn zone must be counted afresh even if the picture is still.
    """
    polygon = json.dumps(zone.polygon).encode()
    return hashlib.sha256(polygon).digest()[:DIGEST_BYTES] + thumb


def changed_share(before: bytes, after: bytes) -> float:
    """The share of cells, 0 to 1, that changed between two fingerprints.

    Fingerprints of different zones, or missing ones, differ entirely.
    """
    if len(before) != DIGEST_BYTES + CELLS or len(after) != len(before):
        return 1.0
    if before[:DIGEST_BYTES] != after[:DIGEST_BYTES]:
        return 1.0
    old = _cells(before[DIGEST_BYTES:])
    new = _cells(after[DIGEST_BYTES:])
    shift = new.mean() - old.mean()
    moved = numpy.abs(new - old - shift) > CELL_CHANGE
    return float(moved.mean())


def _cells(thumb: bytes) -> numpy.ndarray:
    return numpy.frombuffer(thumb, dtype=numpy.uint8).astype(numpy.float32)
