import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from devices.enrollment import create_enrollment_token
from devices.models import Camera, EnrollmentToken, hash_token

URL = "/api/v1/devices/register"


def register(token: str, serial: str = "00000000a1b2c3d4", **extra):
    body = {"token": token, "serial": serial, "agent_version": "1.0.0", **extra}
    return APIClient().post(URL, body, format="json")


def test_a_camera_registers_and_gets_its_identity(db, settings):
    settings.MQTT_PUBLIC_URL = "mqtt://192.0.2.10:1883"
    _, token = create_enrollment_token()

    response = register(token)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["camera_id"] == "cam-00000000a1b2c3d4"
    assert body["mqtt"] == {
        "host": "192.0.2.10",
        "port": 1883,
        "tls": False,
        "client_id": "cam-00000000a1b2c3d4",
        "topics": {
            "commands": "occupancy/cameras/cam-00000000a1b2c3d4/commands",
            "broadcast": "occupancy/cameras/all/commands",
            "config": "occupancy/cameras/all/config",
        },
    }
    camera = Camera.objects.get(pk="cam-00000000a1b2c3d4")
    assert camera.serial == "00000000a1b2c3d4" and camera.agent_version == "1.0.0"
    assert camera.token_hash == hash_token(body["api_token"])
    # The API token works for uploads; the enrollment token is stored hashed.
    assert EnrollmentToken.objects.get().token_hash == hash_token(token)


def test_a_replayed_token_is_refused(db):
    _, token = create_enrollment_token(uses=1)
    assert register(token).status_code == 201

    response = register(token, serial="other")

    assert response.status_code == 403
    assert response.json() == {"detail": "The enrollment token has been used up."}
    assert not Camera.objects.filter(serial="other").exists()


def test_an_expired_token_is_refused(db):
    record, token = create_enrollment_token(uses=5)
    EnrollmentToken.objects.filter(pk=record.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = register(token)

    assert response.status_code == 403
    assert "expired" in response.json()["detail"]
    assert not Camera.objects.exists()


def test_an_unknown_token_is_refused(db):
    response = register("made-up")

    assert response.status_code == 403
    assert "not valid" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": "x"},
        {"token": "x", "serial": "../../etc"},
        {"token": "x", "serial": "a" * 200},
        {"token": ["x"], "serial": "abc"},
        {"token": "x", "serial": "abc\u0000"},
    ],
)
def test_a_malformed_registration_is_a_400(db, body):
    _, token = create_enrollment_token()
    before = Camera.objects.count()

    response = APIClient().post(URL, body, format="json")

    assert response.status_code == 400
    assert Camera.objects.count() == before


def test_a_camera_that_lost_its_state_enrolls_again_as_itself(db):
    _, token = create_enrollment_token(uses=2)
    first = register(token).json()

    second = register(token).json()

    assert second["camera_id"] == first["camera_id"]
    assert second["api_token"] != first["api_token"]
    assert Camera.objects.count() == 1


def test_uses_are_counted_down(db):
    record, token = create_enrollment_token(uses=2)

    register(token, serial="one")
    register(token, serial="two")

    assert EnrollmentToken.objects.get(pk=record.pk).uses_left == 0
    assert register(token, serial="three").status_code == 403


def test_the_command_prints_a_token_that_works(db):
    out = io.StringIO()

    call_command(
        "create_enrollment_token", "--uses", "3", "--expires-in", "2", stdout=out
    )

    token = out.getvalue().strip()
    record = EnrollmentToken.objects.get()
    assert record.uses_left == 3
    assert (
        timedelta(hours=1.9) < record.expires_at - timezone.now() <= timedelta(hours=2)
    )
    assert register(token).status_code == 201


def test_the_admin_shows_a_new_token_once(admin_user, client):
    client.force_login(admin_user)

    response = client.post(
        "/admin/devices/enrollmenttoken/add/",
        {
            "note": "Library floor 2",
            "uses_left": "4",
            "expires_at_0": "",
            "expires_at_1": "",
        },
        follow=True,
    )

    page = response.content.decode()
    assert "shown only now" in page
    token = page.split("shown only now: ")[1].split("<")[0].strip()
    record = EnrollmentToken.objects.get()
    assert record.note == "Library floor 2" and record.uses_left == 4
    assert record.token_hash == hash_token(token)
