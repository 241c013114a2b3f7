import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from access.models import ApiKey
from tests.helpers import image_bytes
from tests.test_upload import upload

ROOT = Path(__file__).resolve().parent.parent
READ_URLS = ["/api/v1/occupancy/", "/api/v1/history/"]


@pytest.fixture
def key(db):
    record = ApiKey(name="Library website")
    secret = record.set_new_key()
    record.save()
    return secret


@pytest.mark.parametrize("url", READ_URLS)
def test_readers_need_nothing_by_default(db, url):
    assert APIClient().get(url).status_code == 200


@pytest.mark.parametrize("url", READ_URLS)
def test_readers_need_a_key_when_keys_are_required(db, settings, key, url):
    settings.API_KEYS_REQUIRED = True
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Key {key}")
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Key not-a-key")

    assert APIClient().get(url).status_code in (401, 403)
    assert wrong.get(url).status_code == 401
    assert with_key.get(url).status_code == 200
    assert ApiKey.objects.get().last_used is not None


def test_a_revoked_key_stops_working(db, settings, key):
    settings.API_KEYS_REQUIRED = True
    ApiKey.objects.update(active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Key {key}")

    assert client.get("/api/v1/occupancy/").status_code == 401


def test_staff_read_without_a_key(db, settings, admin_user):
    settings.API_KEYS_REQUIRED = True
    client = APIClient()
    client.force_login(admin_user)

    assert client.get("/api/v1/occupancy/").status_code == 200


def test_a_camera_token_is_not_a_reader_key(lobby, settings, client_for):
    settings.API_KEYS_REQUIRED = True

    assert client_for(lobby[1]).get("/api/v1/occupancy/").status_code in (401, 403)


def test_keys_are_stored_as_digests(key):
    assert key not in ApiKey.objects.get().key_hash


def test_readers_are_throttled_per_key(db, settings, key):
    settings.READER_RATE = "3/min"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Key {key}")

    answers = [client.get("/api/v1/occupancy/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    # Another client, another allowance.
    assert APIClient().get("/api/v1/occupancy/").status_code == 200


def test_cameras_are_throttled_per_camera(lobby, cafeteria, settings, client_for):
    settings.CAMERA_RATE = "2/min"
    frame = image_bytes("vtest_000.jpg")

    answers = [upload(client_for(lobby[1]), frame).status_code for _ in range(3)]

    assert answers == [201, 201, 429]
    assert upload(client_for(cafeteria[1]), frame).status_code == 201


def test_an_allowed_origin_may_read_from_the_browser(db, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://library.example"]
    client = APIClient()

    allowed = client.get("/api/v1/occupancy/", HTTP_ORIGIN="https://library.example")
    other = client.get("/api/v1/occupancy/", HTTP_ORIGIN="https://elsewhere.example")

    assert allowed["Access-Control-Allow-Origin"] == "https://library.example"
    assert "Access-Control-Allow-Origin" not in other


def test_the_admin_shows_a_new_api_key_once(admin_user, client):
    client.force_login(admin_user)

    response = client.post(
        "/admin/access/apikey/add/", {"name": "Signage", "active": "on"}, follow=True
    )

    page = response.content.decode()
    secret = page.split("shown only now: ")[1].split("<")[0].strip()
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Key {secret}")
    assert reader.get("/api/v1/occupancy/").status_code == 200


def test_production_settings_pass_the_deployment_checks(tmp_path):
    env = {
        **os.environ,
        "OCCUPANCY_DATA_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "k" * 20 + "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
        "DJANGO_HTTPS": "true",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "occupancy.example",
    }
    # The browser tests' switch, set by conftest, is never set in production.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_api_schema_describes_every_view_without_warnings():
    done = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "cameraToken" in done.stdout
    assert "apiKey" in done.stdout
    assert done.stderr.strip() == ""


def test_a_forged_forwarded_address_does_not_reset_the_reader_throttle(db, settings):
    settings.READER_RATE = "3/min"
    client = APIClient()

    answers = [
        client.get("/api/v1/occupancy/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        for n in range(5)
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]


def test_behind_one_proxy_the_address_it_saw_is_throttled(db, settings):
    settings.READER_RATE = "2/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    client = APIClient()

    def get(forwarded: str) -> int:
        url = "/api/v1/occupancy/"
        return client.get(url, HTTP_X_FORWARDED_FOR=forwarded).status_code

    # What the caller wrote comes first; the proxy appends what it saw.
    same = [get(f"10.0.0.{n}, 203.0.113.7") for n in range(3)]

    assert same == [200, 200, 429]
    assert get("10.0.0.1, 203.0.113.8") == 200
