"""Snapshots kept on disk while the server cannot take them.

Each snapshot is one JPEG file named by its capture time in UTC, so the
time survives a restart and sorting the names gives the order of capture.
Files are written under a hidden temporary name and renamed into place: a
power cut leaves either the whole snapshot or none of it.
"""

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

STAMP = "%Y%m%dT%H%M%S.%fZ"
SUFFIX = ".jpg"


@dataclass(frozen=True)
class Buffered:
    path: Path
    captured_at: datetime

    def read(self) -> bytes:
        return self.path.read_bytes()


class SnapshotBuffer:
    """At most `size` snapshots in `folder`, the oldest dropped first."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder = folder
        self.size = size
        folder.mkdir(parents=True, exist_ok=True)
        # Hidden files are writes a power cut interrupted.
        for leftover in folder.glob(".*"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._paths())

    def put(self, jpeg: bytes, captured_at: datetime) -> Path:
        """Keep one snapshot, dropping the oldest ones beyond the limit."""
        path = self.folder / (captured_at.astimezone(UTC).strftime(STAMP) + SUFFIX)
        descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(jpeg)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._trim()
        return path

    def oldest(self) -> Buffered | None:
        for path in self._paths():
            captured_at = _captured_at(path)
            if captured_at is not None:
                return Buffered(path, captured_at)
            # A file this agent did not write: keep it out of the way.
            logger.warning("Dropping %s from the buffer: not a snapshot name", path)
            path.unlink(missing_ok=True)
        return None

    def remove(self, item: Buffered) -> None:
        item.path.unlink(missing_ok=True)

    def _paths(self) -> list[Path]:
        return sorted(
            path
            for path in self.folder.glob("*" + SUFFIX)
            if not path.name.startswith(".")
        )

    def _trim(self) -> None:
        paths = self._paths()
        for path in paths[: max(0, len(paths) - self.size)]:
            logger.warning(
                "Buffer full (%d snapshots): dropped the oldest, %s",
                self.size,
                path.name,
            )
            path.unlink(missing_ok=True)


def _captured_at(path: Path) -> datetime | None:
    try:
        return datetime.strptime(path.name[: -len(SUFFIX)], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None
