"""The whole API, fuzzed from its own schema against the live server.

Schemathesis reads /api/v1/schema/ from `manage.py serve` in a process of
its own and sends it generated requests, well-formed and not, as a
camera, as staff and as a reader with an API key. No answer may be a 5xx,
and every answer must match the schema.
"""

import http.client
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.broker import EmbeddedBroker
from tests.mqtt_helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Bounds: examples per operation, and seconds for the whole run.
MAX_EXAMPLES = 10
DEADLINE = 150

SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from access.models import ApiKey
from devices.models import Camera
from zones.models import Zone
camera = Camera(id="fuzz-camera", sampling_interval=60)
print(camera.set_new_token())
camera.save()
Zone.objects.create(camera=camera, name="Everywhere",
                    polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
from django.contrib.sessions.backends.db import SessionStore
key = ApiKey(name="fuzz reader")
print(key.set_new_key())
key.save()
# Staff sign in once: a password check on every request would take most
# of the run.
staff = get_user_model().objects.create_superuser("fuzz-staff", "", None)
session = SessionStore()
session["_auth_user_id"] = str(staff.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = staff.get_session_auth_hash()
session.create()
print(session.session_key)
"""

CONFIG = """
headers = {{ Cookie = "sessionid={session}; csrftoken={csrf}", X-CSRFToken = "{csrf}" }}

[generation]
max-examples = {max_examples}

[auth.openapi.cameraToken]
api_key = "Token {camera_token}"

[auth.openapi.apiKey]
api_key = "Key {api_key}"
"""


def run(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_until_up(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/api/v1/occupancy/")
            connection.getresponse().read()
            return
        except OSError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)
        finally:
            connection.close()


@pytest.fixture
def live_api(tmp_path):
    broker = EmbeddedBroker(f"127.0.0.1:{free_port()}")
    broker.start()
    env = {
        **os.environ,
        "OCCUPANCY_DATA_DIR": str(tmp_path / "data"),
        # Generous rates: the fuzzer is one client sending many requests.
        "READER_RATE": "100000/min",
        "CAMERA_RATE": "100000/min",
        "MQTT_URL": f"mqtt://{broker.bind}",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    run(env, "manage.py", "migrate", "-v", "0")
    credentials = run(env, "-c", SETUP).split()
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(port)
        yield base, credentials, tmp_path / "server.log"
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        broker.stop()


@pytest.mark.e2e
def test_the_fuzzed_api_never_fails_and_always_matches_its_schema(live_api, tmp_path):
    base, (camera_token, api_key, session), server_log = live_api
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            max_examples=MAX_EXAMPLES,
            camera_token=camera_token,
            api_key=api_key,
            session=session,
            csrf=secrets.token_hex(16),
        )
    )

    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--no-color",
            "--config-file",
            str(config),
            "run",
            f"{base}/api/v1/schema/",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "2",
            "--request-timeout",
            "20",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )

    report = done.stdout + done.stderr + server_log.read_text()[-5000:]
    assert done.returncode == 0, report
    # Each kind of caller got through at least once, so the fuzzer reached
    # the views behind authentication too.
    database = sqlite3.connect(tmp_path / "data" / "occupancy.sqlite3")
    [(heard,)] = database.execute("SELECT last_seen FROM devices_camera")
    [(key_used,)] = database.execute("SELECT last_used FROM access_apikey")
    [(captures,)] = database.execute("SELECT count(*) FROM devices_capturerequest")
    assert heard is not None and key_used is not None and captures > 0, report
