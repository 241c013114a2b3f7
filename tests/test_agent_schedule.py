"""When the camera agent takes snapshots: only inside opening hours."""

from datetime import UTC, datetime

import pytest

from pi.agent import Agent
from pi.buffer import SnapshotBuffer
from pi.device_config import parse_device_config
from pi.schedule import is_open
from pi.sources import FolderSource
from pi.uploader import Uploader
from tests.agent_helpers import DeviceServer, FakeClock, copy_frames


def config(*windows: list[str], time_zone: str = "Europe/London", interval=60):
    return parse_device_config(
        {
            "version": 1,
            "sampling_interval": interval,
            "opening_hours": [list(window) for window in windows],
            "time_zone": time_zone,
            "jpeg_quality": 85,
        }
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DAYTIME = config(["07:00", "22:00"])


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-12-03T06:59:59", False),
        ("2026-12-03T07:00:00", True),
        ("2026-12-03T12:00:00", True),
        ("2026-12-03T21:59:59", True),
        ("2026-12-03T22:00:00", False),
        ("2026-12-03T03:00:00", False),
    ],
)
def test_it_is_open_only_inside_the_window(moment, expected):
    # London keeps UTC in December.
    assert is_open(DAYTIME, at(moment)) is expected


def test_it_reads_the_window_in_the_configured_time_zone():
    # 06:30 UTC is 07:30 in London in July (summer time).
    summer_morning = at("2026-07-01T06:30:00")

    assert is_open(DAYTIME, summer_morning)
    assert not is_open(config(["07:00", "22:00"], time_zone="UTC"), summer_morning)


def test_it_follows_a_time_zone_far_from_utc():
    office = config(["09:00", "17:00"], time_zone="America/New_York")

    assert not is_open(office, at("2026-12-03T13:59:00"))  # 08:59 in New York
    assert is_open(office, at("2026-12-03T14:00:00"))
    assert is_open(office, at("2026-12-03T21:59:00"))
    assert not is_open(office, at("2026-12-03T22:00:00"))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-12-03T21:59:00", False),
        ("2026-12-03T22:00:00", True),
        ("2026-12-03T23:30:00", True),
        ("2026-12-04T00:00:00", True),
        ("2026-12-04T01:59:59", True),
        ("2026-12-04T02:00:00", False),
        ("2026-12-04T12:00:00", False),
    ],
)
def test_it_handles_a_window_across_midnight(moment, expected):
    night = config(["22:00", "02:00"])

    assert is_open(night, at(moment)) is expected


@pytest.mark.parametrize("moment", ["00:00:00", "07:00:00", "12:00:00", "23:59:59"])
def test_it_is_always_open_from_midnight_to_midnight(moment):
    always = config(["00:00", "24:00"])

    assert is_open(always, at("2026-12-03T" + moment))


def test_it_is_open_in_any_of_several_windows():
    split = config(["08:00", "12:00"], ["14:00", "24:00"])

    assert is_open(split, at("2026-12-03T09:00:00"))
    assert not is_open(split, at("2026-12-03T13:00:00"))
    assert is_open(split, at("2026-12-03T23:59:59"))
    assert not is_open(split, at("2026-12-04T00:00:00"))


@pytest.fixture
def server():
    server = DeviceServer()
    yield server
    server.close()


def test_it_uploads_snapshots_inside_opening_hours_only(server, tmp_path):
    frames = copy_frames(tmp_path / "frames")
    clock = FakeClock(at("2026-12-03T21:58:00"))
    agent = Agent(
        Uploader(server.url, "device-token"),
        FolderSource(tmp_path / "frames"),
        SnapshotBuffer(tmp_path / "buffer", 10),
        heartbeat_seconds=3600,
        config=DAYTIME,
        clock=clock,
    )

    for _ in range(4):  # 21:58, 21:59, 22:00 and 22:01 in London
        agent.step()
        clock.advance(60)

    uploads = server.received("/api/v1/uploads/")
    assert [upload.fields["captured_at"] for upload in uploads] == [
        "2026-12-03T21:58:00Z",
        "2026-12-03T21:59:00Z",
    ]
    assert [upload.files["image"] for upload in uploads] == frames[:2]
    assert uploads[0].headers["Authorization"] == "Token device-token"
    assert len(agent.buffer) == 0
