"""What the tests that start the service's own processes share: free ports,
the project's commands run to completion, and waiting for a condition.

Not from tests.helpers: these helpers must load without Django.
"""

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_python(env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run this Python with args in the project folder; it must succeed."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def manage(env: dict, *args: str) -> str:
    """What a `manage.py` command printed, without the surrounding space."""
    return run_python(env, "manage.py", *args).stdout.strip()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.ConnectionError:
        return False


def wait_for(
    condition: Callable[[], object],
    timeout: float = 60.0,
    what: str = "condition",
    every: float = 0.25,
):
    """The first true result of condition, tried every so many seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
