"""The stores' files: written whole, listed, and dated by their arrival."""

import os
import tempfile
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage

# S3 sets an object's LastModified itself: an image made from a snapshot
# carries the snapshot's arrival in this piece of user metadata instead.
ARRIVAL_METADATA = "arrived-at"


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


def save_arrived(storage: Any, name: str, data: bytes, arrived: datetime) -> str:
    """Write an image that counts as having arrived when its source did.

    The retention sweep ages every image by its arrival, so an image made
    late from an old snapshot is not given a fresh lease.
    """
    if isinstance(storage, FileSystemStorage):
        name = storage.save(name, ContentFile(data))
        stamp = arrived.timestamp()
        os.utime(storage.path(name), (stamp, stamp))
        return name
    parameters = {
        **storage.get_object_parameters(name),
        "ContentType": "image/jpeg",
        "Metadata": {ARRIVAL_METADATA: arrived.isoformat()},
    }
    storage.bucket.Object(_s3_key(storage, name)).put(Body=data, **parameters)
    return name


def arrived_at(storage: Any, name: str) -> datetime:
    """When a file arrived; raises FileNotFoundError if it is gone."""
    if isinstance(storage, FileSystemStorage):
        return storage.get_modified_time(name)
    from botocore.exceptions import ClientError

    entry = storage.bucket.Object(_s3_key(storage, name))
    try:
        entry.load()
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            raise FileNotFoundError(name)
        raise
    written = entry.last_modified
    try:
        arrived = datetime.fromisoformat(entry.metadata.get(ARRIVAL_METADATA, ""))
    except ValueError:
        return written  # not one of ours: its own time will do
    if arrived.tzinfo is None:
        return written
    # Nothing arrives after it was written, whatever its metadata says.
    return min(arrived, written)


def _s3_key(storage: Any, name: str) -> str:
    location = storage.location.strip("/")
    return f"{location}/{name}" if location else name
