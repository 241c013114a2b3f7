import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from access.models import ApiKey
from devices.control_images import save_control_image
from devices.enrollment import create_enrollment_token
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


# Who calls. Without API_KEYS_REQUIRED an anonymous caller is a reader.
ANONYMOUS = "anonymous"
KEY_HOLDER = "reader with a key"
CAMERA = "camera lobby"
OTHER_CAMERA = "camera cafeteria"
STAFF = "staff"
CALLERS = (ANONYMOUS, KEY_HOLDER, CAMERA, OTHER_CAMERA, STAFF)


def only(allowed: dict[str, int], others: int) -> dict[str, int]:
    return {caller: allowed.get(caller, others) for caller in CALLERS}


EVERYONE = only({}, 200)
STAFF_PAGE = only({STAFF: 200}, 302)  # the others go to the sign-in page
STAFF_API = only({STAFF: 200}, 403)
READER = only({KEY_HOLDER: 200, STAFF: 200}, 401)


@dataclass(frozen=True)
class Call:
    """One request to a route and its answer for each caller, without and
    with API_KEYS_REQUIRED (None: the same answers)."""

    method: str
    url: str
    answers: dict[str, int]
    with_keys_required: dict[str, int] | None = None
    body: str = ""


# Every route of occupancy_site/urls.py, as the resolver spells it. Of the
# admin site only its index and the control image view are listed: the
# rest is Django's own and needs staff like the index.
ACCESS = {
    "": [Call("GET", "/", EVERYONE)],
    "admin/": [Call("GET", "/admin/", STAFF_PAGE)],
    "admin/devices/camera/<path:object_id>/control-images/<str:name>": [
        Call("GET", "/admin/devices/camera/lobby/control-images/{image}", STAFF_PAGE)
    ],
    "api/v1/uploads/": [
        Call(
            "POST",
            "/api/v1/uploads/",
            only({CAMERA: 201, OTHER_CAMERA: 403}, 401),
            body="lobby's snapshot",
        )
    ],
    "api/v1/uploads/presign": [
        # Upload targets exist on the aws backend only.
        Call(
            "POST",
            "/api/v1/uploads/presign",
            only({CAMERA: 404, OTHER_CAMERA: 404}, 401),
            body="presign",
        )
    ],
    "api/v1/occupancy/": [Call("GET", "/api/v1/occupancy/", EVERYONE, READER)],
    "api/v1/health": [Call("GET", "/api/v1/health", EVERYONE)],
    "api/v1/control-images/": [
        Call(
            "POST",
            "/api/v1/control-images/",
            only({CAMERA: 201, OTHER_CAMERA: 403}, 401),
            body="lobby's snapshot",
        )
    ],
    # The enrollment token is the credential, whoever sends it.
    "api/v1/devices/register": [
        Call("POST", "/api/v1/devices/register", only({}, 201), body="enrol")
    ],
    "api/v1/devices/heartbeat": [
        Call(
            "POST",
            "/api/v1/devices/heartbeat",
            only({CAMERA: 200, OTHER_CAMERA: 200}, 401),
            body="json",
        )
    ],
    "api/v1/devices/config": [
        Call(
            "GET",
            "/api/v1/devices/config",
            only({CAMERA: 200, OTHER_CAMERA: 200}, 401),
        )
    ],
    "api/v1/cameras/capture": [
        Call("POST", "/api/v1/cameras/capture", STAFF_API, body="json")
    ],
    "api/v1/cameras/config": [
        Call("GET", "/api/v1/cameras/config", STAFF_API),
        Call("PUT", "/api/v1/cameras/config", STAFF_API, body="config"),
    ],
    "api/v1/history/": [Call("GET", "/api/v1/history/", EVERYONE, READER)],
    "api/v1/schema/": [Call("GET", "/api/v1/schema/", EVERYONE, READER)],
    "api/v1/docs/": [Call("GET", "/api/v1/docs/", EVERYONE, READER)],
}
ADMIN_ROUTES_LISTED = {route for route in ACCESS if route.startswith("admin/")}


def routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if not isinstance(entry, URLResolver):
            yield route
        elif entry.namespace == "admin":
            listed = ADMIN_ROUTES_LISTED
            yield from (r for r in routes(entry.url_patterns, route) if r in listed)
        else:
            yield from routes(entry.url_patterns, route)


def test_every_route_has_an_entry_in_the_access_table():
    found = list(routes(get_resolver().url_patterns))

    assert set(found) - set(ACCESS) == set(), "routes missing from ACCESS"
    assert set(ACCESS) - set(found) == set(), "ACCESS lists routes that are gone"


SERIALS = count()


def body(kind: str) -> dict:
    if kind == "lobby's snapshot":
        image = SimpleUploadedFile("s.jpg", image_bytes("vtest_000.jpg"), "image/jpeg")
        return {"data": {"image": image, "camera": "lobby"}, "format": "multipart"}
    if kind == "presign":
        fields = {"captured_at": timezone.now().isoformat(), "sha256": "0" * 64}
        return {"data": fields, "format": "json"}
    if kind == "enrol":
        _, token = create_enrollment_token(uses=1)
        fields = {"token": token, "serial": f"access{next(SERIALS)}"}
        return {"data": fields, "format": "json"}
    if kind == "config":
        config = {
            "sampling_interval": 30,
            "opening_hours": [["07:00", "22:00"]],
            "time_zone": "Europe/London",
            "jpeg_quality": 80,
        }
        return {"data": config, "format": "json"}
    return {"data": {}, "format": "json"} if kind == "json" else {}


@pytest.fixture
def callers(lobby, cafeteria, key, client_for) -> dict[str, APIClient]:
    holder = APIClient()
    holder.credentials(HTTP_AUTHORIZATION=f"Key {key}")
    staff = APIClient()
    # Signed in without a password: hashing one takes most of a test.
    staff.force_login(get_user_model().objects.create_superuser("bob", "", None))
    return {
        ANONYMOUS: APIClient(),
        KEY_HOLDER: holder,
        CAMERA: client_for(lobby[1]),
        OTHER_CAMERA: client_for(cafeteria[1]),
        STAFF: staff,
    }


@pytest.mark.parametrize("keys_required", [False, True], ids=["public", "keys"])
@pytest.mark.parametrize("route", list(ACCESS))
def test_each_caller_gets_the_answer_the_access_table_gives(
    route, keys_required, callers, settings, request
):
    settings.API_KEYS_REQUIRED = keys_required
    if route.startswith("api/v1/cameras/"):
        request.getfixturevalue("mqtt_broker")  # commands are published
    image = save_control_image("lobby", image_bytes("vtest_000.jpg"), timezone.now())

    for call in ACCESS[route]:
        url = call.url.format(image=image.split("/")[1])
        expected = call.answers
        if keys_required and call.with_keys_required is not None:
            expected = call.with_keys_required
        got = {}
        for caller, client in callers.items():
            send = getattr(client, call.method.lower())
            got[caller] = send(url, **body(call.body)).status_code

        assert got == expected, f"{call.method} {url}"


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


AWS_PRODUCTION = {
    "OCCUPANCY_BACKEND": "aws",
    # Never reached: the checks import the driver but do not connect.
    "DATABASE_URL": "postgres://occupancy:secret@127.0.0.1:9/occupancy",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.mark.parametrize("backend", [{}, AWS_PRODUCTION], ids=["local", "aws"])
def test_production_settings_pass_the_deployment_checks(tmp_path, backend):
    env = {
        **os.environ,
        "OCCUPANCY_DATA_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": "k" * 20 + "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
        "DJANGO_HTTPS": "true",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "occupancy.example",
        **backend,
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


def test_the_schema_shows_readers_public_only_while_keys_are_not_required(
    db, settings, key
):
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Key {key}")

    def security(path: str, method: str = "get") -> list[dict]:
        schema = reader.get("/api/v1/schema/?format=json").json()
        return schema["paths"][path][method]["security"]

    public = security("/api/v1/occupancy/")
    staff_only = security("/api/v1/cameras/capture", "post")
    settings.API_KEYS_REQUIRED = True
    keyed = security("/api/v1/history/")

    assert {} in public and {"apiKey": []} in public
    assert {} not in staff_only
    assert {} not in keyed and {"apiKey": []} in keyed
