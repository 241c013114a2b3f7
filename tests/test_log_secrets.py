"""Logs at their most talkative hold no secret and no picture."""

import base64
import io
import logging

from django.core.management import call_command

from devices.enrollment import create_enrollment_token
from pipeline.worker import Worker
from tests.helpers import image_bytes
from tests.test_upload import upload

PASSWORD = "a long password"  # the admin_user fixture's


def test_logs_at_debug_hold_no_token_key_password_or_picture(
    lobby, admin_user, client_for, client, mqtt_broker, caplog
):
    caplog.set_level(logging.DEBUG)
    _, camera_token = lobby
    picture = image_bytes("vtest_150.jpg")
    _, enrollment_token = create_enrollment_token(uses=1)
    out = io.StringIO()

    uploaded = upload(client_for(camera_token), picture)
    Worker().run_once()
    enrolled = client_for().post(
        "/api/v1/devices/register",
        {"token": enrollment_token, "serial": "abc123"},
        format="json",
    )
    new_token = enrolled.json()["api_token"]
    client_for(new_token).post("/api/v1/devices/heartbeat", {}, format="json")
    staff = client_for()
    staff.credentials(
        HTTP_AUTHORIZATION="Basic "
        + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    )
    captured = staff.post("/api/v1/cameras/capture", {}, format="json")
    call_command("create_enrollment_token", "--uses", "2", stdout=out)
    printed_token = out.getvalue().split()[-1]

    assert uploaded.status_code == 201 and enrolled.status_code == 201
    assert captured.status_code == 200
    logged = caplog.text
    assert "Camera cam-abc123 enrolled" in logged  # the logs did speak
    for secret in (camera_token, enrollment_token, new_token, printed_token):
        assert secret not in logged
    assert PASSWORD not in logged
    assert base64.b64encode(f"alice:{PASSWORD}".encode()).decode() not in logged
    for chunk in (picture[:64], picture[1000:1064]):
        assert chunk.hex() not in logged
        assert repr(chunk)[2:40] not in logged
        assert base64.b64encode(chunk).decode() not in logged
