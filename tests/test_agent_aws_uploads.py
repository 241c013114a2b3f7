"""The camera agent on the aws backend: snapshots straight to S3.

The server runs as a Django live server on the aws backend, with boto3
pointed at moto's HTTP server, so the agent's real uploader asks the API
for a presigned POST and sends the JPEG to moto over HTTP, as it would to
S3. moto checks no POST policy, so S3's refusal is shown with a bucket
that is gone. The answers neither Django nor moto can be made to give (an
API that fails or throttles, an S3 that fails) come from the test HTTP
server the other agent tests use, which also shows the form as sent.
"""

import hashlib
import io
import json
import logging
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from devices import iot
from devices.enrollment import create_enrollment_token
from devices.models import Camera
from occupancy_site import aws
from pi.agent import Agent
from pi.backoff import Backoff
from pi.buffer import SnapshotBuffer
from pi.device_config import STARTING_CONFIG
from pi.enrollment import register
from pi.sources import FolderSource
from pi.state import parse_enrollment
from pi.uploader import DIRECT, PRESIGNED, Uploader
from tests.agent_helpers import DeviceServer, FakeClock, copy_frames
from tests.aws_fixtures import NAMES, aws_credentials, moto_server  # noqa: F401
from tests.helpers import make_camera, stored
from tests.process_helpers import free_port

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE_CACHE = NAMES["IMAGE_CACHE_BUCKET"]
PRESIGN = "/api/v1/uploads/presign"
UPLOADS = "/api/v1/uploads/"
CONFIG = {**STARTING_CONFIG.as_payload(), "version": 1}
BUCKET = "/occ-test-image-cache"


@pytest.fixture
def deployed(moto_server, live_server):  # noqa: F811
    """Provisioned resources on moto's server; the API's address."""
    call_command("provision_aws", stdout=io.StringIO())
    # An endpoint cached by an earlier test belongs to moto state now gone.
    iot.forget_endpoint()
    yield live_server.url
    iot.forget_endpoint()


@pytest.fixture
def frames(tmp_path):
    return copy_frames(tmp_path / "frames")


def recently() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)


def make_agent(uploader, tmp_path, clock):
    return Agent(
        uploader,
        FolderSource(tmp_path / "frames"),
        SnapshotBuffer(tmp_path / "buffer", 10),
        heartbeat_seconds=3600,
        clock=clock,
        backoff=Backoff(first=2, cap=30, rng=random.Random(4)),
    )


def snapshot_name(camera_id: str, captured_at: datetime, jpeg: bytes) -> str:
    digest = hashlib.sha256(jpeg).hexdigest()[:24]
    return f"{camera_id}/{captured_at:%Y%m%dT%H%M%S}.000000Z-{digest}.jpg"


def cached(name: str) -> bytes:
    body = aws.client("s3").get_object(Bucket=IMAGE_CACHE, Key=name)["Body"]
    return body.read()


def test_a_camera_enrolled_on_aws_sends_its_snapshot_straight_to_the_image_cache(
    deployed, frames, tmp_path
):
    _, token = create_enrollment_token()
    identity = parse_enrollment(register(deployed, token, "pi0001"))
    assert identity.upload == PRESIGNED
    clock = FakeClock(recently())
    uploader = Uploader(deployed, identity.api_token, upload=identity.upload)
    agent = make_agent(uploader, tmp_path, clock)

    agent.step()

    name = snapshot_name("cam-pi0001", clock.start, frames[0])
    assert stored("image_cache") == [name]
    assert cached(name) == frames[0]
    assert len(agent.buffer) == 0
    # The API never carried the image, but asking for its target counts.
    assert Camera.objects.get(pk="cam-pi0001").last_snapshot_at is not None


def test_a_snapshot_the_server_will_not_presign_is_logged_and_dropped(
    deployed, frames, tmp_path, caplog
):
    _, token = make_camera("lobby")
    clock = FakeClock(recently() - timedelta(days=8))
    agent = make_agent(Uploader(deployed, token, upload=PRESIGNED), tmp_path, clock)

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        agent.step()

    assert "The capture time is too old to count." in caplog.text
    assert "no upload target: 400" in caplog.text
    assert len(agent.buffer) == 0 and agent.backoff.failures == 0
    assert stored("image_cache") == []


def test_a_snapshot_s3_refuses_is_logged_and_dropped(
    deployed, frames, tmp_path, caplog
):
    _, token = make_camera("lobby")
    aws.client("s3").delete_bucket(Bucket=IMAGE_CACHE)
    clock = FakeClock(recently())
    agent = make_agent(Uploader(deployed, token, upload=PRESIGNED), tmp_path, clock)

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        agent.step()

    name = snapshot_name("lobby", clock.start, frames[0])
    assert f"S3 refused {name}: 404 NoSuchBucket" in caplog.text
    assert len(agent.buffer) == 0 and agent.backoff.failures == 0


def test_a_snapshot_waits_in_the_buffer_while_s3_is_down_and_lands_after(
    deployed, frames, tmp_path, monkeypatch
):
    _, token = make_camera("lobby")
    clock = FakeClock(recently())
    agent = make_agent(Uploader(deployed, token, upload=PRESIGNED), tmp_path, clock)
    moto = os.environ["AWS_ENDPOINT_URL"]
    # The API keeps signing targets, at an address where nothing listens.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    aws.forget_clients()

    wait = agent.step()

    assert len(agent.buffer) == 1 and agent.backoff.failures == 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    aws.forget_clients()
    clock.advance(wait)
    agent.step()

    assert len(agent.buffer) == 0
    name = snapshot_name("lobby", clock.start, frames[0])
    assert stored("image_cache") == [name]
    assert cached(name) == frames[0]


def test_a_control_image_still_goes_through_the_api_on_aws(deployed, frames, tmp_path):
    _, token = make_camera("lobby")
    clock = FakeClock(recently())
    agent = make_agent(Uploader(deployed, token, upload=PRESIGNED), tmp_path, clock)
    stamp = clock.start.isoformat().replace("+00:00", "Z")
    message = json.dumps(
        {
            "command": "capture_control_image",
            "command_id": "c0ffee" * 4,
            "issued_at": stamp,
        }
    )

    agent.on_command_message(message.encode())
    agent.step()

    name = snapshot_name("lobby", clock.start, frames[0])
    assert stored("control_images") == [name]
    assert stored("image_cache") == [snapshot_name("lobby", clock.start, frames[1])]


@pytest.fixture
def api():
    """The API played by the test HTTP server, for answers moto cannot give."""
    server = DeviceServer()
    server.script("POST", "/api/v1/devices/heartbeat", (200, CONFIG))
    yield server
    server.close()


def target_at(api: DeviceServer) -> dict:
    return {
        "url": api.url + BUCKET,
        "fields": {"key": "lobby/x.jpg", "policy": "e30=", "x-amz-signature": "s"},
        "key": "lobby/x.jpg",
        "image_id": "a" * 24,
    }


def presigning_agent(api: DeviceServer, tmp_path: Path) -> tuple[Agent, FakeClock]:
    """An agent that asks the test server for presigned posts."""
    clock = FakeClock(datetime(2026, 12, 3, 14, 5, tzinfo=UTC))
    uploader = Uploader(api.url, "device-token", upload=PRESIGNED)
    return make_agent(uploader, tmp_path, clock), clock


def test_the_form_carries_the_fields_then_the_file_and_never_the_api_token(api, frames):
    api.script("POST", PRESIGN, (200, target_at(api)))
    api.script("POST", BUCKET, (204, ""))
    clock = FakeClock(datetime(2026, 12, 3, 14, 5, tzinfo=UTC))
    uploader = Uploader(api.url, "device-token", upload=PRESIGNED)

    image_id = uploader.send(frames[0], clock.now())

    assert image_id == "a" * 24
    [presign] = api.received(PRESIGN)
    assert presign.headers["Authorization"] == "Token device-token"
    [form] = api.received(BUCKET)
    assert "Authorization" not in form.headers
    assert form.fields == {
        "key": "lobby/x.jpg",
        "policy": "e30=",
        "x-amz-signature": "s",
    }
    assert form.files == {"file": frames[0]}
    # S3 ignores form fields that come after the file.
    assert form.body.index(b'name="file"') > form.body.index(b'name="policy"')


def test_a_failing_s3_keeps_the_snapshot_for_later(api, frames, tmp_path, caplog):
    api.script("POST", PRESIGN, (200, target_at(api)))
    api.script("POST", BUCKET, (503, "<Error><Code>SlowDown</Code></Error>"))
    agent, _ = presigning_agent(api, tmp_path)

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        agent.step()

    assert len(agent.buffer) == 1 and agent.backoff.failures == 1
    assert "S3 answered 503 SlowDown" in caplog.text


def test_a_presign_refusal_is_not_tried_again(api, frames, tmp_path, caplog):
    api.script("POST", PRESIGN, (400, {"detail": "captured_at: Give a time zone."}))
    agent, clock = presigning_agent(api, tmp_path)

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        for _ in range(3):
            clock.advance(agent.step())

    sent = [request.json() for request in api.received(PRESIGN)]
    assert [body["captured_at"] for body in sent] == [
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:06:00Z",
        "2026-12-03T14:07:00Z",
    ]
    assert [body["sha256"] for body in sent] == [
        hashlib.sha256(frame).hexdigest() for frame in frames
    ]
    assert caplog.text.count("captured_at: Give a time zone.") == 3
    assert len(agent.buffer) == 0 and api.received(UPLOADS) == []


@pytest.mark.parametrize(
    "reply",
    [
        (503, {"detail": "Service unavailable."}),
        (429, {"detail": "Request was throttled."}),
        (200, {"url": "file:///etc/passwd", "fields": {}, "key": "k", "image_id": "i"}),
        (200, ["not", "a", "target"]),
    ],
)
def test_a_presign_failure_keeps_the_snapshot_for_later(
    api, frames, tmp_path, caplog, reply
):
    api.script("POST", PRESIGN, reply)
    agent, _ = presigning_agent(api, tmp_path)

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        agent.step()

    assert len(agent.buffer) == 1 and agent.backoff.failures == 1
    assert "Cannot upload" in caplog.text
    assert api.received(UPLOADS) == []


def test_a_camera_enrolled_on_the_local_backend_posts_its_snapshots_to_the_api(
    live_server, frames, tmp_path
):
    _, token = create_enrollment_token()
    identity = parse_enrollment(register(live_server.url, token, "pi0002"))
    assert identity.upload == DIRECT
    clock = FakeClock(recently())
    uploader = Uploader(live_server.url, identity.api_token, upload=identity.upload)
    agent = make_agent(uploader, tmp_path, clock)

    agent.step()

    assert stored("image_cache") == [
        snapshot_name("cam-pi0002", clock.start, frames[0])
    ]
    assert Camera.objects.get(pk="cam-pi0002").last_snapshot_at is not None
