"""Snapshots the camera agent keeps on disk while the server is away."""

import logging
from datetime import UTC, datetime, timedelta, timezone

from pi.buffer import SnapshotBuffer

START = datetime(2026, 12, 3, 14, 5, 0, 123456, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return START + timedelta(minutes=n)


def drain(buffer: SnapshotBuffer) -> list[tuple[datetime, bytes]]:
    kept = []
    while (item := buffer.oldest()) is not None:
        kept.append((item.captured_at, item.read()))
        buffer.remove(item)
    return kept


def test_it_gives_snapshots_back_oldest_first_with_their_capture_time(tmp_path):
    buffer = SnapshotBuffer(tmp_path, size=10)
    for n in (2, 0, 1):  # put out of order
        buffer.put(b"jpeg %d" % n, minutes(n))

    assert drain(buffer) == [
        (minutes(0), b"jpeg 0"),
        (minutes(1), b"jpeg 1"),
        (minutes(2), b"jpeg 2"),
    ]
    assert len(buffer) == 0


def test_it_drops_the_oldest_snapshots_beyond_its_size(tmp_path, caplog):
    buffer = SnapshotBuffer(tmp_path, size=3)

    with caplog.at_level(logging.WARNING, logger="pi.buffer"):
        for n in range(5):
            buffer.put(b"jpeg %d" % n, minutes(n))

    assert len(buffer) == 3
    assert [captured_at for captured_at, _ in drain(buffer)] == [
        minutes(2),
        minutes(3),
        minutes(4),
    ]
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 2
    assert "20261203T140500.123456Z.jpg" in dropped[0]


def test_it_keeps_snapshots_and_their_times_across_a_restart(tmp_path):
    SnapshotBuffer(tmp_path, size=10).put(b"before the power cut", minutes(7))

    again = SnapshotBuffer(tmp_path, size=10)

    assert drain(again) == [(minutes(7), b"before the power cut")]


def test_it_names_files_by_the_capture_time_in_utc(tmp_path):
    paris = timezone(timedelta(hours=1))
    buffer = SnapshotBuffer(tmp_path, size=10)

    path = buffer.put(b"jpeg", datetime(2026, 12, 3, 15, 5, tzinfo=paris))

    assert path.name == "20261203T140500.000000Z.jpg"
    assert buffer.oldest().captured_at == datetime(2026, 12, 3, 14, 5, tzinfo=UTC)


def test_it_leaves_no_temporary_file_behind(tmp_path):
    buffer = SnapshotBuffer(tmp_path, size=10)

    buffer.put(b"jpeg", START)

    assert [path.name for path in tmp_path.iterdir()] == ["20261203T140500.123456Z.jpg"]


def test_it_clears_a_write_interrupted_by_a_power_cut(tmp_path):
    (tmp_path / ".tmpx1y2z3").write_bytes(b"half a snap")

    buffer = SnapshotBuffer(tmp_path, size=10)

    assert len(buffer) == 0
    assert list(tmp_path.iterdir()) == []


def test_it_drops_a_file_whose_name_is_not_a_capture_time(tmp_path):
    (tmp_path / "holiday.jpg").write_bytes(b"not ours")
    buffer = SnapshotBuffer(tmp_path, size=10)
    buffer.put(b"jpeg", START)

    assert drain(buffer) == [(START, b"jpeg")]
    assert not (tmp_path / "holiday.jpg").exists()
