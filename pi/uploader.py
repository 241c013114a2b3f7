"""Talking to the occupancy API as a camera: snapshots, control images,
heartbeats and the cameras' configuration."""

import logging
from datetime import UTC, datetime

import requests

logger = logging.getLogger(__name__)


class RequestRefused(Exception):
    """The server answered with a client error: retrying will not help."""


class UploadRefused(RequestRefused):
    """The server refused a snapshot or a control image."""


class Uploader:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/api/v1/uploads/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.timeout = timeout

    def send(self, jpeg: bytes, captured_at: datetime) -> str:
        """Upload one snapshot and return its image id.

        Raises UploadRefused on a 4xx answer and requests' exceptions when
        the server cannot be reached or fails.
        """
        return self._post_image(self.url, jpeg, captured_at)

    def send_control_image(self, jpeg: bytes, captured_at: datetime) -> str:
        """Upload the picture an administrator draws zones on."""
        url = self.base_url + "/api/v1/control-images/"
        return self._post_image(url, jpeg, captured_at)

    def heartbeat(
        self, agent_version: str, config_version: int | None, heartbeat_seconds: int
    ) -> object:
        """Tell the server this camera is alive; return its configuration.

        The period lets the server tell a camera that is quiet outside
        opening hours from one that is gone.
        """
        body = {
            "agent_version": agent_version,
            "config_version": config_version,
            "heartbeat_seconds": heartbeat_seconds,
        }
        response = self.session.post(
            self.base_url + "/api/v1/devices/heartbeat",
            json=body,
            timeout=self.timeout,
        )
        return _json(response)

    def fetch_config(self) -> object:
        """The configuration every camera applies, as the server has it."""
        response = self.session.get(
            self.base_url + "/api/v1/devices/config", timeout=self.timeout
        )
        return _json(response)

    def close(self) -> None:
        self.session.close()

    def _post_image(self, url: str, jpeg: bytes, captured_at: datetime) -> str:
        stamp = captured_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        response = self.session.post(
            url,
            files={"image": ("snapshot.jpg", jpeg, "image/jpeg")},
            data={"captured_at": stamp},
            timeout=self.timeout,
            allow_redirects=False,
        )
        if 400 <= response.status_code < 500:
            raise UploadRefused(f"{response.status_code} {error_detail(response)}")
        body = _json(response)
        return str(body.get("image_id", "")) if isinstance(body, dict) else ""


def _json(response: requests.Response) -> object:
    """The decoded body of a 2xx answer.

    Raises RequestRefused on a 4xx answer, and requests' exceptions on a 5xx
    answer, an unexpected status or a body that is not JSON: all of these
    are worth trying again later.
    """
    if 400 <= response.status_code < 500:
        raise RequestRefused(f"{response.status_code} {error_detail(response)}")
    response.raise_for_status()
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(
            f"unexpected status {response.status_code}", response=response
        )
    return response.json()


def error_detail(response: requests.Response) -> str:
    """The server's one-line reason for an error answer, kept short."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]
