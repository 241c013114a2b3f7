from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from devices.config import current_config
from devices.health import camera_status
from devices.models import Camera
from tests.helpers import image_bytes, make_camera
from tests.test_upload import upload


def test_a_heartbeat_records_health_and_returns_the_configuration(lobby, client_for):
    camera, token = lobby

    response = client_for(token).post(
        "/api/v1/devices/heartbeat",
        {"agent_version": "1.2.0", "config_version": 4},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["version"] == current_config().version
    camera.refresh_from_db()
    assert (camera.agent_version, camera.config_version) == ("1.2.0", 4)
    assert camera.last_seen is not None and camera.last_snapshot_at is None
    assert camera_status(camera, timezone.now()) == "online"


@pytest.mark.parametrize(
    "body",
    [{"config_version": -1}, {"config_version": "four"}, {"agent_version": "x" * 40}],
)
def test_a_bad_heartbeat_is_a_400(lobby, client_for, body):
    response = client_for(lobby[1]).post(
        "/api/v1/devices/heartbeat", body, format="json"
    )

    assert response.status_code == 400
    lobby[0].refresh_from_db()
    assert lobby[0].last_seen is None


def test_an_upload_records_the_last_snapshot(lobby, client_for):
    camera, token = lobby

    upload(client_for(token), image_bytes("vtest_000.jpg"))

    camera.refresh_from_db()
    assert camera.last_seen is not None
    assert camera.last_snapshot_at == camera.last_seen


def test_a_camera_gets_its_configuration(lobby, client_for):
    response = client_for(lobby[1]).get("/api/v1/devices/config")

    assert response.status_code == 200
    assert set(response.json()) == {
        "version",
        "sampling_interval",
        "opening_hours",
        "time_zone",
        "jpeg_quality",
    }


def test_the_device_endpoints_need_a_camera_token(lobby):
    assert APIClient().get("/api/v1/devices/config").status_code == 401
    assert APIClient().post("/api/v1/devices/heartbeat", {}).status_code == 401


@pytest.mark.parametrize(
    "silence, status",
    [
        (None, "offline"),
        (timedelta(seconds=30), "online"),
        (timedelta(minutes=2), "online"),
        (timedelta(minutes=5), "stale"),
        (timedelta(minutes=11), "offline"),
    ],
)
def test_status_follows_the_sampling_interval(db, silence, status):
    camera, _ = make_camera("gym", interval=60)
    now = timezone.now()
    camera.last_seen = None if silence is None else now - silence

    assert camera_status(camera, now) == status


def test_the_camera_list_shows_each_status(admin_user, client, db):
    make_camera("quiet")
    seen, _ = make_camera("busy")
    Camera.objects.filter(pk="busy").update(last_seen=timezone.now())
    client.force_login(admin_user)

    page = client.get("/admin/devices/camera/").content.decode()

    assert "online" in page and "offline" in page
