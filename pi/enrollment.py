"""A camera's first start: registering with an enrollment token.

The answer is the camera's identity. It is saved at once, so that every
later start uses the state file and never needs the token again.
"""

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from pi.backoff import Backoff
from pi.config import AgentConfig
from pi.state import State, StateError, load_state, parse_enrollment, save_state
from pi.uploader import error_detail
from pi.version import AGENT_VERSION

logger = logging.getLogger(__name__)

# Bounds on the server's Retry-After: never hammer it, never sleep for
# days on a header that went wrong.
MIN_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 3600.0
_SECONDS = re.compile(r"^[0-9]{1,10}$")


class EnrollmentRefused(Exception):
    """The server will not enroll this camera: an operator must act."""


class ServerBusy(Exception):
    """The server cannot enroll the camera now; it may say when to retry."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def register(server_url: str, token: str, serial: str, timeout: float = 10.0) -> object:
    """POST the registration; return the decoded answer.

    Raises ServerBusy on a 429 or 5xx answer, EnrollmentRefused on any
    other 4xx answer, and requests' exceptions when the server cannot be
    reached or answers something unexpected or not JSON.
    """
    response = requests.post(
        server_url + "/api/v1/devices/register",
        json={"token": token, "serial": serial, "agent_version": AGENT_VERSION},
        timeout=timeout,
        allow_redirects=False,
    )
    status = response.status_code
    reason = error_detail(response) or "no reason given"
    if status == 429 or status >= 500:
        raise ServerBusy(f"status {status}: {reason}", retry_after(response))
    if 400 <= status < 500:
        raise EnrollmentRefused(f"{reason} (status {status})")
    if status != 201:
        raise requests.HTTPError(f"unexpected status {status}")
    return response.json()


def retry_after(response: requests.Response) -> float | None:
    """The seconds the server asks to wait, or None without a usable one.

    Retry-After is a number of seconds or an HTTP date.
    """
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if _SECONDS.match(value):
        return _bounded(float(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        logger.warning("Ignored an unusable Retry-After header: %r", value[:40])
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _bounded((moment - datetime.now(UTC)).total_seconds())


def _bounded(seconds: float) -> float:
    return min(max(seconds, MIN_RETRY_AFTER), MAX_RETRY_AFTER)


def obtain_state(
    config: AgentConfig, wait: Callable[[float], bool], backoff: Backoff | None = None
) -> State | None:
    """The saved state, or a new one from enrolling.

    Retries while the server cannot be reached, is busy or fails, waiting
    as long as it asks if it says. wait(seconds) sleeps and returns True
    when the agent is asked to stop; then this returns None.
    """
    state = load_state(config.state_path)
    if state is not None:
        return state
    if not config.enrollment_token:
        raise EnrollmentRefused(
            f"not enrolled yet ({config.state_path} does not exist) and the "
            "configuration has no enrollment_token"
        )
    backoff = backoff or Backoff()
    logger.info("Enrolling serial %s with %s", config.serial, config.server_url)
    while True:
        try:
            return _enroll(config)
        except ServerBusy as error:
            delay = backoff.failed()
            if error.retry_after is not None:
                delay = error.retry_after
            logger.warning(
                "The server cannot enroll the camera now (%s); next try in %.0f s",
                error,
                delay,
            )
        except (requests.RequestException, StateError) as error:
            delay = backoff.failed()
            logger.warning("Enrollment failed (%s); next try in %.0f s", error, delay)
        if wait(delay):
            return None


def _enroll(config: AgentConfig) -> State:
    assert config.enrollment_token is not None
    answer = register(config.server_url, config.enrollment_token, config.serial)
    identity = parse_enrollment(answer)
    assert isinstance(answer, dict)
    state = State(identity, answer)
    save_state(config.state_path, state)
    logger.info(
        "Enrolled as camera %s (%s uploads); identity saved in %s",
        identity.camera_id,
        identity.upload,
        config.state_path,
    )
    return state
