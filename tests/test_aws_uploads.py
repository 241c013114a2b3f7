"""Snapshots on the aws backend: presigned POSTs straight to S3, and the
multipart upload through the API, both into the image cache bucket."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from devices.models import Camera
from occupancy_site import aws
from tests.aws_fixtures import (  # noqa: F401
    NAMES,
    aws_credentials,
    on_aws,
    provisioned,
)
from tests.helpers import image_bytes, make_camera, stored

pytestmark = pytest.mark.django_db

IMAGE_CACHE = NAMES["IMAGE_CACHE_BUCKET"]


@pytest.fixture
def camera_token(provisioned):  # noqa: F811
    _, token = make_camera("lobby")
    return token


def presign(client, data: bytes, captured_at: datetime, **extra) -> dict:
    body = {
        "captured_at": captured_at.isoformat(),
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra,
    }
    return client.post("/api/v1/uploads/presign", body, format="json")


def recently() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def policy_conditions(fields: dict) -> list:
    policy = json.loads(base64.b64decode(fields["policy"]))
    return policy["conditions"]


def test_a_camera_gets_a_post_limited_to_its_snapshots_name_and_size(
    camera_token, client_for, settings
):
    data = image_bytes("vtest_300.jpg")
    at = recently()

    response = presign(client_for(camera_token), data, at)

    assert response.status_code == 200, response.content
    body = response.json()
    digest = hashlib.sha256(data).hexdigest()
    name = f"lobby/{at:%Y%m%dT%H%M%S}.000000Z-{digest[:24]}.jpg"
    assert body["key"] == name and body["image_id"] == digest[:24]
    assert body["camera"] == "lobby" and body["expires_in"] == 300
    assert body["fields"]["key"] == name
    conditions = policy_conditions(body["fields"])
    assert {"bucket": IMAGE_CACHE} in conditions
    assert {"key": name} in conditions
    assert ["content-length-range", 1, settings.MAX_UPLOAD_BYTES] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"x-amz-server-side-encryption": "AES256"} in conditions


def test_asking_for_a_target_counts_as_the_cameras_snapshot(camera_token, client_for):
    before = Camera.objects.get(pk="lobby").last_snapshot_at

    presign(client_for(camera_token), image_bytes("vtest_300.jpg"), recently())

    camera = Camera.objects.get(pk="lobby")
    assert before is None and camera.last_snapshot_at is not None
    assert camera.last_seen == camera.last_snapshot_at


def test_the_snapshot_posted_there_lands_encrypted_in_the_image_cache(
    camera_token, client_for
):
    data = image_bytes("vtest_300.jpg")
    body = presign(client_for(camera_token), data, recently()).json()

    sent = requests.post(
        body["url"],
        data=body["fields"],
        files={"file": ("snapshot.jpg", data, "image/jpeg")},
        timeout=10,
    )

    assert sent.status_code == 204, sent.text
    assert stored("image_cache") == [body["key"]]
    head = aws.client("s3").head_object(Bucket=IMAGE_CACHE, Key=body["key"])
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(data)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sha256": "not-a-digest"}, "sha256: Give the SHA-256 of the JPEG"),
        ({"sha256": "A" * 64}, "sha256: Give the SHA-256 of the JPEG"),
        ({"captured_at": "yesterday"}, "captured_at: Give an ISO 8601 time"),
        ({"captured_at": "2026-12-03T12:00:00"}, "captured_at: Give a time zone"),
    ],
)
def test_a_bad_digest_or_time_is_refused_with_the_reason(
    camera_token, client_for, change, message
):
    body = {
        "captured_at": recently().isoformat(),
        "sha256": "0" * 64,
        **change,
    }

    response = client_for(camera_token).post(
        "/api/v1/uploads/presign", body, format="json"
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert stored("image_cache") == []


def test_a_capture_from_the_future_gets_no_target(camera_token, client_for):
    ahead = datetime.now(UTC) + timedelta(hours=1)

    response = presign(client_for(camera_token), b"x", ahead)

    assert response.status_code == 400
    assert "in the future" in response.json()["detail"]


def test_without_a_camera_token_there_is_no_target(provisioned, client_for):  # noqa: F811
    anonymous = presign(client_for(), b"x", recently())
    forged = presign(client_for("not-a-token"), b"x", recently())

    assert anonymous.status_code in (401, 403)
    assert forged.status_code in (401, 403)
    assert "detail" in forged.json()


def test_the_local_backend_has_no_upload_targets(db, client_for):
    _, token = make_camera("lobby")

    response = presign(client_for(token), b"x", recently())

    assert response.status_code == 404
    assert "/api/v1/uploads/" in response.json()["detail"]


def test_the_multipart_upload_stores_the_snapshot_in_s3(camera_token, client_for):
    data = image_bytes("vtest_300.jpg")

    response = client_for(camera_token).post(
        "/api/v1/uploads/",
        {"image": _file(data), "captured_at": recently().isoformat()},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    [name] = stored("image_cache")
    assert name.endswith(f"-{response.json()['image_id']}.jpg")
    head = aws.client("s3").head_object(Bucket=IMAGE_CACHE, Key=name)
    assert head["ServerSideEncryption"] == "AES256"


def test_a_broken_picture_is_refused_before_anything_reaches_s3(
    camera_token, client_for
):
    data = image_bytes("vtest_300.jpg")[:5000]

    response = client_for(camera_token).post(
        "/api/v1/uploads/",
        {"image": _file(data), "captured_at": recently().isoformat()},
        format="multipart",
    )

    assert response.status_code == 400
    assert "truncated" in response.json()["detail"]
    assert stored("image_cache") == []


def _file(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("snapshot.jpg", data, content_type="image/jpeg")
