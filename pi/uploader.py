"""Sending snapshots to the occupancy API."""

import logging
from datetime import UTC, datetime

import requests

logger = logging.getLogger(__name__)


class UploadRefused(Exception):
    """The server answered with a client error: retrying will not help."""


class Uploader:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.url = base_url.rstrip("/") + "/api/v1/uploads/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.timeout = timeout

    def send(self, jpeg: bytes, captured_at: datetime) -> str:
        """Upload one snapshot and return its image id.

        Raises UploadRefused on a 4xx answer and requests' exceptions when
        the server cannot be reached or fails.
        """
        stamp = captured_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        response = self.session.post(
            self.url,
            files={"image": ("snapshot.jpg", jpeg, "image/jpeg")},
            data={"captured_at": stamp},
            timeout=self.timeout,
        )
        if 400 <= response.status_code < 500:
            raise UploadRefused(f"{response.status_code} {_detail(response)}")
        response.raise_for_status()
        return response.json()["image_id"]


def _detail(response: requests.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:300]
    except ValueError:
        return response.text[:300]
