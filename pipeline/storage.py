import os
import tempfile
from typing import Any

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage


class AtomicFileSystemStorage(FileSystemStorage):
    """A folder store whose files appear whole or not at all.

    The local worker watches these folders, so a file must never be seen
    half-written. Each file is written under a hidden temporary name in its
    final folder and then renamed, as an S3 PUT is atomic.
    """

    def _save(self, name: str, content: File) -> str:
        path = self.path(name)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        # mkstemp makes the file readable by its owner only.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        return name.replace("\\", "/")

    def get_available_name(self, name: str, max_length: Any = None) -> str:
        # Names are derived from content and capture time, so writing the
        # same name again is a retry that replaces the same bytes.
        return name


def walk(storage: Any, folder: str = "") -> list[str]:
    """Every file name under folder, skipping hidden temporary files."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return []  # a local store's folder appears with its first file
    prefix = f"{folder}/" if folder else ""
    names = [prefix + name for name in files if not name.startswith(".")]
    for directory in directories:
        names.extend(walk(storage, prefix + directory))
    return names
