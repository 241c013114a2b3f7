"""A camera's first start: registering with an enrollment token.

The answer is the camera's identity. It is saved at once, so that every
later start uses the state file and never needs the token again.
"""

import logging
from collections.abc import Callable

import requests

from pi.backoff import Backoff
from pi.config import AgentConfig
from pi.state import State, StateError, load_state, parse_enrollment, save_state
from pi.uploader import error_detail
from pi.version import AGENT_VERSION

logger = logging.getLogger(__name__)


class EnrollmentRefused(Exception):
    """The server will not enroll this camera: an operator must act."""


def register(server_url: str, token: str, serial: str, timeout: float = 10.0) -> object:
    """POST the registration; return the decoded answer.

    Raises EnrollmentRefused on a 4xx answer and requests' exceptions when
    the server cannot be reached, fails or answers something not JSON.
    """
    response = requests.post(
        server_url + "/api/v1/devices/register",
        json={"token": token, "serial": serial, "agent_version": AGENT_VERSION},
        timeout=timeout,
        allow_redirects=False,
    )
    if 400 <= response.status_code < 500:
        reason = error_detail(response) or f"status {response.status_code}"
        raise EnrollmentRefused(reason)
    response.raise_for_status()
    if response.status_code != 201:
        raise requests.HTTPError(f"unexpected status {response.status_code}")
    return response.json()


def obtain_state(
    config: AgentConfig, wait: Callable[[float], bool], backoff: Backoff | None = None
) -> State | None:
    """The saved state, or a new one from enrolling.

    Retries while the server cannot be reached. wait(seconds) sleeps and
    returns True when the agent is asked to stop; then this returns None.
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
        state = _try_enroll(config)
        if state is not None:
            return state
        if wait(backoff.failed()):
            return None


def _try_enroll(config: AgentConfig) -> State | None:
    assert config.enrollment_token is not None
    try:
        answer = register(config.server_url, config.enrollment_token, config.serial)
        identity = parse_enrollment(answer)
    except (requests.RequestException, StateError) as error:
        logger.warning("Enrollment failed, will try again: %s", error)
        return None
    assert isinstance(answer, dict)
    state = State(identity, answer)
    save_state(config.state_path, state)
    logger.info(
        "Enrolled as camera %s; identity saved in %s",
        identity.camera_id,
        config.state_path,
    )
    return state
