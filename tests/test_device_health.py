from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from devices.config import current_config, update_config
from devices.health import ONLINE, camera_status
from devices.models import Camera
from pi.agent import Agent
from pi.buffer import SnapshotBuffer
from pi.sources import FolderSource
from pi.uploader import Uploader
from tests.agent_helpers import FakeClock, copy_frames
from tests.helpers import image_bytes, make_camera, stored
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


@pytest.mark.parametrize("period", [0, 9, 86_401, 10**30, "often", 1.5, True, None])
def test_a_heartbeat_with_an_absurd_period_is_a_400_naming_the_field(
    lobby, client_for, period
):
    response = client_for(lobby[1]).post(
        "/api/v1/devices/heartbeat", {"heartbeat_seconds": period}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("heartbeat_seconds: ")
    lobby[0].refresh_from_db()
    assert lobby[0].last_seen is None and lobby[0].heartbeat_seconds is None


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


def test_a_camera_heartbeating_on_its_period_outside_opening_hours_stays_online(
    live_server, transactional_db, tmp_path
):
    camera, token = make_camera("porch", interval=60)
    update_config(60, [["08:00", "18:00"]], "UTC", 85)
    clock = FakeClock(datetime(2026, 12, 3, 22, 0, tzinfo=UTC))  # closed
    copy_frames(tmp_path / "frames")
    agent = Agent(
        Uploader(live_server.url, token, timeout=5),
        FolderSource(tmp_path / "frames"),
        SnapshotBuffer(tmp_path / "buffer", 10),
        heartbeat_seconds=300,
        clock=clock,
    )
    last_seen, heard_at = None, []

    while clock.elapsed < 3 * 300:
        delay = agent.step()
        camera.refresh_from_db()
        if camera.last_seen != last_seen:
            last_seen = camera.last_seen
            heard_at.append(clock.elapsed)
        # Until the agent wakes again the server hears nothing from it.
        silence = timedelta(seconds=clock.elapsed + delay - heard_at[-1])
        assert camera_status(camera, last_seen + silence) == ONLINE, silence
        clock.advance(delay)

    assert heard_at == [0, 300, 600]
    assert camera.heartbeat_seconds == 300
    assert camera.last_snapshot_at is None and stored("image_cache") == []


@pytest.mark.parametrize(
    "silence, status",
    [
        (timedelta(minutes=5), "online"),
        (timedelta(minutes=10), "online"),  # one heartbeat lost
        (timedelta(minutes=11), "stale"),
        (timedelta(minutes=25), "stale"),
        (timedelta(minutes=26), "offline"),
    ],
)
def test_a_camera_that_missed_its_heartbeats_goes_stale_then_offline(
    lobby, client_for, silence, status
):
    camera, token = lobby

    response = client_for(token).post(
        "/api/v1/devices/heartbeat", {"heartbeat_seconds": 300}, format="json"
    )

    assert response.status_code == 200
    camera.refresh_from_db()
    assert camera.heartbeat_seconds == 300
    assert camera_status(camera, camera.last_seen + silence) == status


def test_the_camera_list_shows_each_status(admin_user, client, db):
    make_camera("quiet")
    seen, _ = make_camera("busy")
    Camera.objects.filter(pk="busy").update(last_seen=timezone.now())
    client.force_login(admin_user)

    page = client.get("/admin/devices/camera/").content.decode()

    assert "online" in page and "offline" in page
