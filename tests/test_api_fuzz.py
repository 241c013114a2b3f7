"""The whole API, fuzzed from its own schema against the live server.

Schemathesis reads /api/v1/schema/ from `manage.py serve` in a process of
its own and sends it generated requests, well-formed and not, as a
camera, as staff and as a reader with an API key, and without them. Every
check it has runs: no answer may be a 5xx; status codes, content types,
headers and bodies must be those the schema documents; requests the schema
forbids must be refused and those it allows accepted; endpoints that
declare credentials must refuse requests without them; unsupported methods
must be answered 405. The checks on created and deleted resources
(use_after_free, ensure_resource_availability) find nothing to act on: no
endpoint deletes what another creates.
"""

import http.client
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from devices.broker import EmbeddedBroker
from tests.process_helpers import ROOT, free_port, manage, run_python

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Bounds: examples per operation, and seconds for the whole run.
MAX_EXAMPLES = 30
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
# Text fields refuse the NUL character with a 400, as they should; the
# schema's string types do not spell that out.
allow-x00 = false

[auth.openapi.cameraToken]
api_key = "Token {camera_token}"

[auth.openapi.apiKey]
api_key = "Key {api_key}"

# Requests the schema allows that the server still refuses with a 400,
# each for a reason no schema can state:
# the cameras named must exist;
[[operations]]
include-name = "POST /api/v1/cameras/capture"
checks.positive_data_acceptance.expected-statuses = {accepted_or_400}

# the time zone must be one this server knows (an enum of all of them
# would have the fuzzer send each one);
[[operations]]
include-name = "PUT /api/v1/cameras/config"
checks.positive_data_acceptance.expected-statuses = {accepted_or_400}

# the image must decode as a JPEG within the pixel limit, taken in the
# last seven days by the server's clock.
[[operations]]
include-name = "POST /api/v1/uploads/"
checks.positive_data_acceptance.expected-statuses = {accepted_or_400}

[[operations]]
include-name = "POST /api/v1/control-images/"
checks.positive_data_acceptance.expected-statuses = {accepted_or_400}
"""
# Schemathesis' own list for positive_data_acceptance, and 400.
ACCEPTED_OR_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]


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
    manage(env, "migrate", "-v", "0")
    credentials = run_python(env, "-c", SETUP).stdout.split()
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
def test_the_fuzzed_api_passes_every_check_against_its_schema(live_api, tmp_path):
    base, (camera_token, api_key, session), server_log = live_api
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            max_examples=MAX_EXAMPLES,
            camera_token=camera_token,
            api_key=api_key,
            session=session,
            csrf=secrets.token_hex(16),
            accepted_or_400=json.dumps(ACCEPTED_OR_400),
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
            "all",
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


def test_an_overfull_form_is_refused_in_json_not_an_html_page(admin_user):
    staff = APIClient()
    staff.force_login(admin_user)
    fields = "&".join(f"cameras={n}" for n in range(1001))

    response = staff.post(
        "/api/v1/cameras/capture",
        fields,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert "too many fields" in response.json()["detail"]


def test_a_body_over_the_limit_is_a_413_in_json(lobby, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"agent_version": "1", "padding": "x" * 2000}

    response = client_for(lobby[1]).post(
        "/api/v1/devices/heartbeat", body, format="json"
    )

    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


def test_a_heartbeat_takes_its_agent_version_only_as_a_string(lobby, client_for):
    camera = client_for(lobby[1])

    number = camera.post("/api/v1/devices/heartbeat", {"agent_version": 7}, "json")
    padded = camera.post(
        "/api/v1/devices/heartbeat", {"agent_version": " " * 40}, "json"
    )

    assert number.status_code == 400 and "agent_version" in number.json()["detail"]
    assert padded.status_code == 400 and "agent_version" in padded.json()["detail"]


def test_an_empty_history_parameter_is_refused_not_taken_as_missing(db):
    client = APIClient()

    assert client.get("/api/v1/history/?by=").status_code == 400
    assert client.get("/api/v1/history/?zone=").status_code == 400
    assert client.get("/api/v1/history/?format=").status_code == 400
    assert client.get("/api/v1/history/?format=xml").status_code == 400
    assert client.get("/api/v1/history/").status_code == 200
