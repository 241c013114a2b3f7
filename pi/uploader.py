"""Talking to the occupancy API as a camera: snapshots, control images,
heartbeats and the cameras' configuration.

Snapshots go one of two ways, as the server said at enrollment: straight
to the API as a multipart POST, or (on AWS) to S3 through a presigned
POST the API hands out for each snapshot. Control images always go
through the API.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

logger = logging.getLogger(__name__)

DIRECT = "direct"
PRESIGNED = "presigned"
UPLOAD_MODES = (DIRECT, PRESIGNED)

# S3 explains a refusal in a small XML document; only these two elements
# are read from it, so nothing else in the answer is ever parsed.
_S3_CODE = re.compile(r"<Code>([^<]{1,100})</Code>")
_S3_MESSAGE = re.compile(r"<Message>([^<]{1,300})</Message>")


class RequestRefused(Exception):
    """The server answered with a client error: retrying will not help."""


class UploadRefused(RequestRefused):
    """The server or S3 refused a snapshot or a control image."""


@dataclass(frozen=True)
class UploadTarget:
    """Where the API says to POST one snapshot, and under what name."""

    url: str
    fields: dict[str, str]
    key: str
    image_id: str


class Uploader:
    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 10.0,
        upload: str = DIRECT,
    ) -> None:
        if upload not in UPLOAD_MODES:
            raise ValueError(f"unknown upload mode {upload!r}")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/api/v1/uploads/"
        self.upload = upload
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        # Apart, so that the camera's API token never travels to S3.
        self.storage = requests.Session()
        self.timeout = timeout

    def send(self, jpeg: bytes, captured_at: datetime) -> str:
        """Upload one snapshot and return its image id.

        Raises UploadRefused on a 4xx answer (but a 429) from the server
        or S3, and requests' exceptions when either cannot be reached,
        fails, or asks to be called later.
        """
        if self.upload == PRESIGNED:
            return self._send_presigned(jpeg, captured_at)
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
        self.storage.close()

    def _post_image(self, url: str, jpeg: bytes, captured_at: datetime) -> str:
        response = self.session.post(
            url,
            files={"image": ("snapshot.jpg", jpeg, "image/jpeg")},
            data={"captured_at": _iso(captured_at)},
            timeout=self.timeout,
            allow_redirects=False,
        )
        if _refused(response):
            raise UploadRefused(f"{response.status_code} {error_detail(response)}")
        body = _json(response)
        return str(body.get("image_id", "")) if isinstance(body, dict) else ""

    def _send_presigned(self, jpeg: bytes, captured_at: datetime) -> str:
        target = self._upload_target(jpeg, captured_at)
        response = self.storage.post(
            target.url,
            data=target.fields,
            # S3 reads the fields before the file: requests sends the form
            # fields first and the file last.
            files={"file": ("snapshot.jpg", jpeg, "image/jpeg")},
            timeout=self.timeout,
            allow_redirects=False,
        )
        if _refused(response):
            raise UploadRefused(
                f"S3 refused {target.key}: {response.status_code} {s3_error(response)}"
            )
        if not 200 <= response.status_code < 300:
            raise requests.HTTPError(
                f"S3 answered {response.status_code} {s3_error(response)}",
                response=response,
            )
        return target.image_id

    def _upload_target(self, jpeg: bytes, captured_at: datetime) -> UploadTarget:
        response = self.session.post(
            self.base_url + "/api/v1/uploads/presign",
            json={
                "captured_at": _iso(captured_at),
                "sha256": hashlib.sha256(jpeg).hexdigest(),
            },
            timeout=self.timeout,
            allow_redirects=False,
        )
        if _refused(response):
            raise UploadRefused(
                f"the server gave no upload target: {response.status_code} "
                f"{error_detail(response)}"
            )
        try:
            return parse_target(_json(response))
        except ValueError as error:
            # Most likely something between the camera and the server, and
            # worth another try later, like any failing answer.
            raise requests.HTTPError(
                f"unusable upload target: {error}", response=response
            )


def parse_target(body: object) -> UploadTarget:
    """Check the API's answer to a presign request; raise ValueError."""
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    url = body.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("url: missing or not an HTTP URL")
    fields = body.get("fields")
    if not isinstance(fields, dict) or not all(
        isinstance(value, str) for value in fields.values()
    ):
        raise ValueError("fields: missing or not an object of strings")
    key, image_id = body.get("key"), body.get("image_id")
    if not isinstance(key, str) or not isinstance(image_id, str):
        raise ValueError("key, image_id: missing or not strings")
    return UploadTarget(url, fields, key, image_id)


def _refused(response: requests.Response) -> bool:
    """A 4xx answer that says the request itself is wrong.

    A 429 only asks to wait, so the snapshot is kept for later.
    """
    return 400 <= response.status_code < 500 and response.status_code != 429


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(response: requests.Response) -> object:
    """The decoded body of a 2xx answer.

    Raises RequestRefused on a 4xx answer but a 429, and requests'
    exceptions on a 429 or 5xx answer, an unexpected status or a body that
    is not JSON: all of these are worth trying again later.
    """
    if _refused(response):
        raise RequestRefused(f"{response.status_code} {error_detail(response)}")
    response.raise_for_status()
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(
            f"unexpected status {response.status_code}", response=response
        )
    return response.json()


def s3_error(response: requests.Response) -> str:
    """S3's code and message for an error answer, kept short."""
    code = _S3_CODE.search(response.text[:4000])
    message = _S3_MESSAGE.search(response.text[:4000])
    parts = [match.group(1) for match in (code, message) if match]
    return ": ".join(parts) or response.text[:300]


def error_detail(response: requests.Response) -> str:
    """The server's one-line reason for an error answer, kept short."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]
