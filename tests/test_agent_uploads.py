"""The camera agent while the server is down, and when it comes back."""

import logging
import random
from datetime import UTC, datetime

import pytest

from pi.agent import Agent
from pi.backoff import Backoff
from pi.buffer import SnapshotBuffer
from pi.device_config import STARTING_CONFIG
from pi.sources import FolderSource
from pi.uploader import Uploader
from tests.agent_helpers import DeviceServer, FakeClock, copy_frames
from tests.process_helpers import free_port

UPLOADS = "/api/v1/uploads/"
START = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
UNAVAILABLE = (503, {"detail": "Service unavailable."})


@pytest.fixture
def server():
    server = DeviceServer()
    server.script("POST", "/api/v1/devices/heartbeat", (200, CONFIG_PAYLOAD))
    yield server
    server.close()


CONFIG_PAYLOAD = {**STARTING_CONFIG.as_payload(), "version": 1}


@pytest.fixture
def frames(tmp_path):
    return copy_frames(tmp_path / "frames")


def make_agent(url, tmp_path, clock, size=10, heartbeat_seconds=3600):
    return Agent(
        Uploader(url, "device-token", timeout=5),
        FolderSource(tmp_path / "frames"),
        SnapshotBuffer(tmp_path / "buffer", size),
        heartbeat_seconds=heartbeat_seconds,
        clock=clock,
        backoff=Backoff(first=2, cap=30, rng=random.Random(4)),
    )


def stamps(server):
    return [upload.fields["captured_at"] for upload in server.received(UPLOADS)]


def test_it_buffers_while_the_server_fails_and_sends_oldest_first_after(
    server, frames, tmp_path
):
    server.script("POST", UPLOADS, UNAVAILABLE, UNAVAILABLE, (201, {"image_id": "x"}))
    clock = FakeClock(START)
    agent = make_agent(server.url, tmp_path, clock)

    wait = agent.step()  # 14:05: the server answers 503, the snapshot waits
    assert len(agent.buffer) == 1
    assert 0 < wait <= 2  # the first backoff
    clock.advance(wait)
    agent.step()  # the retry: 503 again
    assert len(server.received(UPLOADS)) == 2
    assert len(agent.buffer) == 1

    clock.advance(60 - clock.elapsed)
    agent.step()  # 14:06: the new snapshot joins the queue, the server is back

    assert len(agent.buffer) == 0
    assert stamps(server) == [
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:06:00Z",
    ]
    sent = server.received(UPLOADS)
    assert [upload.files["image"] for upload in sent[-2:]] == frames[:2]
    assert list((tmp_path / "buffer").iterdir()) == []


def test_it_buffers_while_nothing_listens_and_sends_when_the_server_starts(
    frames, tmp_path
):
    port = free_port()
    clock = FakeClock(START)
    agent = make_agent(f"http://127.0.0.1:{port}", tmp_path, clock)
    for _ in range(3):
        agent.step()
        clock.advance(60)
    assert len(agent.buffer) == 3

    server = DeviceServer()
    try:
        agent.api = Uploader(server.url, "device-token")
        clock.advance(agent.step())
        agent.step()
    finally:
        server.close()

    assert stamps(server)[:3] == [
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:06:00Z",
        "2026-12-03T14:07:00Z",
    ]
    assert len(agent.buffer) == 0


def test_it_drops_the_oldest_snapshots_when_the_buffer_is_full(
    server, frames, tmp_path, caplog
):
    server.script("POST", UPLOADS, UNAVAILABLE)
    clock = FakeClock(START)
    agent = make_agent(server.url, tmp_path, clock, size=2)

    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            agent.step()
            clock.advance(60)

    kept = sorted(path.name for path in (tmp_path / "buffer").iterdir())
    assert kept == ["20261203T140800.000000Z.jpg", "20261203T140900.000000Z.jpg"]
    assert sum("Buffer full" in record.getMessage() for record in caplog.records) == 3


def test_it_drops_a_snapshot_the_server_refuses(server, frames, tmp_path, caplog):
    server.script("POST", UPLOADS, (400, {"detail": "The file is not a JPEG."}))
    agent = make_agent(server.url, tmp_path, FakeClock(START))

    with caplog.at_level(logging.WARNING, logger="pi.agent"):
        agent.step()

    assert len(server.received(UPLOADS)) == 1
    assert len(agent.buffer) == 0
    assert "The file is not a JPEG." in caplog.text


def test_it_keeps_a_snapshot_the_server_asks_to_send_later(server, frames, tmp_path):
    throttled = (429, {"detail": "Request was throttled."})
    server.script("POST", UPLOADS, throttled, (201, {"image_id": "x"}))
    clock = FakeClock(START)
    agent = make_agent(server.url, tmp_path, clock)

    wait = agent.step()
    assert len(agent.buffer) == 1
    clock.advance(wait)
    agent.step()

    assert stamps(server) == ["2026-12-03T14:05:00Z", "2026-12-03T14:05:00Z"]
    assert len(agent.buffer) == 0


def test_it_drops_a_buffered_snapshot_the_server_refuses_and_sends_the_rest(
    server, frames, tmp_path
):
    server.script(
        "POST",
        UPLOADS,
        UNAVAILABLE,
        (413, {"detail": "The image is too large."}),
        (201, {"image_id": "x"}),
    )
    clock = FakeClock(START)
    agent = make_agent(server.url, tmp_path, clock)
    agent.step()  # 14:05: 503, kept
    clock.advance(60)

    agent.step()  # 14:06: 14:05 is refused, 14:06 accepted

    assert stamps(server) == [
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:06:00Z",
    ]
    assert len(agent.buffer) == 0


def test_it_sends_the_buffer_as_soon_as_a_heartbeat_gets_through(
    server, frames, tmp_path
):
    server.script("POST", UPLOADS, UNAVAILABLE, (201, {"image_id": "x"}))
    clock = FakeClock(START)
    agent = make_agent(server.url, tmp_path, clock, heartbeat_seconds=10)
    agent.backoff = Backoff(first=600, cap=600)
    agent.step()
    assert len(agent.buffer) == 1

    clock.advance(10)  # long before the end of the backoff
    agent.step()

    assert len(server.received("/api/v1/devices/heartbeat")) == 2
    assert stamps(server) == ["2026-12-03T14:05:00Z", "2026-12-03T14:05:00Z"]
    assert len(agent.buffer) == 0


def test_it_waits_longer_after_each_failure_up_to_a_cap_with_jitter():
    backoff = Backoff(first=2, cap=30, rng=random.Random(1))

    waits = [backoff.failed() for _ in range(7)]

    ceilings = [2, 4, 8, 16, 30, 30, 30]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len(set(waits[4:])) == 3  # the jitter spreads capped waits
    backoff.succeeded()
    assert backoff.failed() <= 2


def test_its_loop_sleeps_until_the_next_snapshot_and_stops_when_asked(
    server, frames, tmp_path
):
    clock = FakeClock(START)
    agent = make_agent(server.url, tmp_path, clock)
    waits = []

    def wait(event, seconds):
        waits.append(seconds)
        clock.advance(seconds)
        if len(waits) == 3:
            agent.stop()

    clock.wait = wait
    agent.run()

    assert waits == [60, 60, 60]
    assert stamps(server) == [
        "2026-12-03T14:05:00Z",
        "2026-12-03T14:06:00Z",
        "2026-12-03T14:07:00Z",
    ]
