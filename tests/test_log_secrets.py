"""Logs at their most talkative hold no secret and no picture."""

import base64
import io
import logging

from django.core.management import call_command
from rest_framework.test import APIClient

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


def test_logs_at_debug_hold_no_reader_key_and_no_secret_key(
    admin_user, client, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    # SQL is logged only with DEBUG on, and Django's own loggers stop at
    # INFO unless told otherwise: the key's lookup is among the queries.
    caplog.set_level(logging.DEBUG, logger="django")
    settings.DEBUG = True
    settings.API_KEYS_REQUIRED = True
    settings.READER_RATE = "3/min"
    signed_in = client.post(
        "/admin/login/", {"username": "alice", "password": PASSWORD}
    )
    added = client.post(
        "/admin/access/apikey/add/", {"name": "Signage", "active": "on"}, follow=True
    )
    key = added.content.decode().split("shown only now: ")[1].split("<")[0].strip()
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Key {key}")
    near_miss = APIClient()
    near_miss.credentials(HTTP_AUTHORIZATION=f"Key {key[:-2]}xx")

    answers = [reader.get("/api/v1/occupancy/").status_code for _ in range(4)]
    refused = near_miss.get("/api/v1/history/")
    schema = reader.get("/api/v1/schema/")

    assert signed_in.status_code == 302
    assert answers == [200, 200, 200, 429]
    assert refused.status_code == 401 and schema.status_code == 429
    logged = caplog.text
    assert "Too Many Requests" in logged and "key_hash" in logged  # they spoke
    assert key not in logged and key[:-2] not in logged
    assert settings.SECRET_KEY not in logged
