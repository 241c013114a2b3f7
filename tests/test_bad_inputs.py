"""Hostile and broken inputs from tests/bad_inputs/, fed to their endpoints.

Each must get a clear 4xx (or, off the API, a logged rejection) and leave
every store and table as it was. tests/bad_inputs/README.md lists them.
"""

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from devices.config import current_config
from devices.enrollment import create_enrollment_token
from devices.models import Camera, CameraConfig, CaptureRequest, EnrollmentToken
from pi.config import ConfigError, load_config
from pipeline.count import count_processed
from pipeline.counts import current_counts
from pipeline.crop import crop_snapshot
from tests.conftest import STORE_ALIASES
from tests.helpers import WHOLE_PICTURE, image_bytes, make_camera, stored
from zones.forms import ZoneForm
from zones.models import Zone, ZoneSelection

CORPUS = Path(__file__).parent / "bad_inputs"
# A snapshot of another camera that a crafted key might reach.
CAFETERIA_SNAPSHOT = "cafeteria/20260101T000000.000000Z-0123456789abcdef01234567.jpg"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@pytest.fixture
def world(db, django_user_model):
    """Two cameras with a zone each, a configuration, a snapshot waiting."""
    lobby, lobby_token = make_camera("lobby")
    cafeteria, _ = make_camera("cafeteria")
    for camera in (lobby, cafeteria):
        Zone.objects.create(camera=camera, name="Everywhere", polygon=WHOLE_PICTURE)
    current_config()
    storages["image_cache"].save(
        CAFETERIA_SNAPSHOT, ContentFile(image_bytes("vtest_000.jpg"))
    )
    staff = APIClient()
    staff.force_authenticate(
        django_user_model.objects.create(username="staff", is_staff=True)
    )
    camera = APIClient()
    camera.credentials(HTTP_AUTHORIZATION=f"Token {lobby_token}")
    return {"camera": camera, "staff": staff, "public": APIClient()}


def state() -> dict[str, Any]:
    """Everything a request could have written."""
    zone_ids = list(Zone.objects.values_list("pk", flat=True))
    return {
        "stores": {alias: stored(alias) for alias in STORE_ALIASES},
        "cameras": list(Camera.objects.order_by("pk").values()),
        "zones": list(Zone.objects.order_by("pk").values()),
        "selections": list(ZoneSelection.objects.order_by("pk").values()),
        "config": list(CameraConfig.objects.values()),
        "tokens": list(EnrollmentToken.objects.order_by("pk").values()),
        "captures": CaptureRequest.objects.count(),
        "counts": current_counts().for_zones(zone_ids),
    }


UPLOAD_FILES = [
    ("upload-png-not-jpeg.png", 400),
    ("upload-truncated.jpg", 400),
    ("upload-empty.jpg", 400),
    ("upload-text.jpg", 400),
    ("upload-bomb-header.jpg", 400),
    ("upload-oversized.jpg", 413),
]


@pytest.mark.parametrize("endpoint", ["/api/v1/uploads/", "/api/v1/control-images/"])
@pytest.mark.parametrize("name, status", UPLOAD_FILES)
def test_it_refuses_a_broken_snapshot(world, settings, endpoint, name, status):
    settings.MAX_UPLOAD_BYTES = 4096
    before = state()
    image = SimpleUploadedFile(name, corpus(name), content_type="image/jpeg")

    response = world["camera"].post(endpoint, {"image": image}, format="multipart")

    assert response.status_code == status, response.content
    assert set(response.json()) == {"detail"}
    assert state() == before


UPLOAD_FIELDS = [
    ("upload-future-time.txt", "captured_at", 400, "future"),
    ("upload-naive-time.txt", "captured_at", 400, "time zone"),
    ("upload-control-time.txt", "captured_at", 400, "captured_at"),
    ("upload-other-camera.txt", "camera", 403, "belongs to camera lobby"),
]


@pytest.mark.parametrize("name, field, status, says", UPLOAD_FIELDS)
def test_it_refuses_an_upload_with_a_hostile_field(world, name, field, status, says):
    before = state()
    image = SimpleUploadedFile("a.jpg", image_bytes("vtest_000.jpg"), "image/jpeg")
    fields = {"image": image, field: corpus(name).decode()}

    response = world["camera"].post("/api/v1/uploads/", fields, format="multipart")

    assert response.status_code == status, response.content
    assert says in response.json()["detail"]
    assert state() == before


def test_it_refuses_an_upload_that_is_not_multipart(world):
    before = state()

    as_json = world["camera"].post(
        "/api/v1/uploads/",
        corpus("upload-json-body.json"),
        content_type="application/json",
    )
    as_text = world["camera"].post(
        "/api/v1/uploads/",
        corpus("upload-plain-text-body.txt"),
        content_type="text/plain",
    )

    assert as_json.status_code == 400
    assert as_json.json()["detail"].startswith("image:")
    assert as_text.status_code == 415
    assert "text/plain" in as_text.json()["detail"]
    assert state() == before


JSON_BODIES = [
    ("register-token-number.json", "public", "post", "devices/register", 400),
    ("register-serial-traversal.json", "public", "post", "devices/register", 400),
    ("register-serial-bidi.json", "public", "post", "devices/register", 400),
    ("register-serial-control.json", "public", "post", "devices/register", 400),
    ("register-array-body.json", "public", "post", "devices/register", 400),
    ("register-huge-token.json", "public", "post", "devices/register", 400),
    ("register-broken-json.json", "public", "post", "devices/register", 400),
    ("heartbeat-negative-version.json", "camera", "post", "devices/heartbeat", 400),
    ("heartbeat-huge-version.json", "camera", "post", "devices/heartbeat", 400),
    ("heartbeat-string-version.json", "camera", "post", "devices/heartbeat", 400),
    ("heartbeat-long-agent-version.json", "camera", "post", "devices/heartbeat", 400),
    ("config-negative-interval.json", "staff", "put", "cameras/config", 400),
    ("config-huge-interval.json", "staff", "put", "cameras/config", 400),
    ("config-hours-string.json", "staff", "put", "cameras/config", 400),
    ("config-zone-traversal.json", "staff", "put", "cameras/config", 400),
    ("capture-unknown-camera.json", "staff", "post", "cameras/capture", 400),
]


@pytest.mark.parametrize("name, who, method, path, status", JSON_BODIES)
def test_it_refuses_a_hostile_json_body(world, name, who, method, path, status):
    before = state()
    send = getattr(world[who], method)

    response = send(f"/api/v1/{path}", corpus(name), content_type="application/json")

    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail"} and "\n" not in body["detail"]
    assert state() == before


def test_it_refuses_a_replayed_enrollment_token(world):
    _, token = create_enrollment_token(uses=1)
    first = world["public"].post(
        "/api/v1/devices/register", {"token": token, "serial": "first-camera"}
    )
    assert first.status_code == 201
    before = state()
    replay = {"token": token, **_json("register-replayed-token.json")}

    response = world["public"].post("/api/v1/devices/register", replay, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "The enrollment token has been used up."}
    assert state() == before


def _json(name: str) -> dict[str, Any]:
    return json.loads(corpus(name))


HISTORY_QUERIES = [
    ("history-negative-zone.txt", 400),
    ("history-huge-zone.txt", 400),
    ("history-traversal-by.txt", 400),
    ("history-unknown-format.txt", 400),
    ("history-unknown-zone.txt", 404),
]


@pytest.mark.parametrize("name, status", HISTORY_QUERIES)
def test_it_refuses_a_hostile_history_query(world, name, status):
    before = state()

    response = world["public"].get("/api/v1/history/?" + corpus(name).decode())

    assert response.status_code == status, response.content
    assert set(response.json()) == {"detail"}
    assert state() == before


ZONE_INPUTS = [
    ("zone-thousands-of-vertices.json", "polygon", "at most 200 vertices"),
    ("zone-polygon-string.json", "polygon", "list of [x, y] points"),
    ("zone-nan-and-negative.json", "polygon", "outside the picture"),
    ("zone-name-control.txt", "name", "Null characters"),
]


@pytest.mark.parametrize("name, field, says", ZONE_INPUTS)
def test_the_zone_form_refuses_a_hostile_zone(world, name, field, says):
    before = state()
    data = {"name": "Desks", "polygon": "[[0,0],[1,0],[1,1],[0,1]]", "active": "on"}
    data[field] = corpus(name).decode()

    form = ZoneForm(data=data, instance=Zone(camera_id="lobby"))

    assert not form.is_valid()
    assert says in " ".join(form.errors[field])
    assert state() == before


AGENT_FILES = [
    ("agent-unknown-key.toml", "upload_everything_to: unknown key"),
    ("agent-serial-traversal.toml", "serial:"),
    ("agent-negative-buffer.toml", "buffer_size: must be between"),
    ("agent-huge-heartbeat.toml", "heartbeat_seconds: must be between"),
    ("agent-not-toml.toml", "is not valid TOML"),
    ("agent-file-url.toml", "server_url: must be an http"),
]


@pytest.mark.parametrize("name, says", AGENT_FILES)
def test_the_camera_agent_refuses_a_hostile_config_file(tmp_path, name, says):
    (tmp_path / "frames").mkdir()
    path = tmp_path / "agent.toml"
    shutil.copyfile(CORPUS / name, path)

    with pytest.raises(ConfigError) as refused:
        load_config(path)

    assert says in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.toml", "frames"]


KEYS = ["key-traversal.txt", "key-encoded-slash.txt", "key-dotdot-in-camera.txt"]


@pytest.mark.parametrize("name", KEYS)
@pytest.mark.parametrize("stage", [crop_snapshot, count_processed])
def test_a_stage_rejects_a_crafted_object_name(world, caplog, name, stage):
    before = state()

    with caplog.at_level(logging.WARNING):
        result = stage(corpus(name).decode())

    assert result == []
    assert "Rejected" in caplog.text and "not a snapshot name" in caplog.text
    assert state() == before
    assert CAFETERIA_SNAPSHOT in stored("image_cache")


def test_the_corpus_is_listed_and_big_enough():
    files = {path.name for path in CORPUS.iterdir()} - {"README.md"}
    readme = (CORPUS / "README.md").read_text()

    assert len(files) >= 30
    assert all(f"`{name}`" in readme for name in files)


HEARTBEAT_PERIODS = ["heartbeat-zero-period.json", "heartbeat-huge-period.json"]


@pytest.mark.parametrize("name", HEARTBEAT_PERIODS)
def test_it_refuses_a_hostile_heartbeat_period_naming_the_field(world, name):
    before = state()

    response = world["camera"].post(
        "/api/v1/devices/heartbeat", corpus(name), content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("heartbeat_seconds: ")
    assert state() == before
