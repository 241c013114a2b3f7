"""A steadier live figure: the median of a zone's last counts.

The API shows the median as "people" and the latest count as
"people_raw"; the data lake keeps every raw count. Real pictures with
known numbers of people, counted by the real detector: 6 on vtest_300,
0 on dog.jpg, 8 on vtest_750, 3 on vtest_450.
"""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from devices.health import record_contact
from pipeline.counts import ZoneCount, current_counts
from pipeline.models import CurrentCount
from tests.aws_fixtures import aws_credentials, on_aws, provisioned  # noqa: F401
from tests.helpers import image_bytes
from tests.pipeline_helpers import process
from tests.test_idempotency import data_lake_lines

MINUTE = timedelta(minutes=1)


@pytest.fixture
def smoothing(settings):
    settings.SMOOTHING_WINDOW = 3
    # Every picture below differs from the last: the detector runs each
    # time either way.
    settings.DETECT_EVERY = 1


def send(frames: list[str], start: datetime) -> list[ZoneCount]:
    return [
        process("lobby", image_bytes(frame), start + n * MINUTE)[0]
        for n, frame in enumerate(frames)
    ]


def occupancy_zone() -> dict:
    [zone] = APIClient().get("/api/v1/occupancy/").json()["zones"]
    return zone


def test_the_live_figure_is_the_median_of_the_last_counts(lobby, smoothing):
    camera, _ = lobby
    record_contact(camera)
    start = datetime.now(UTC) - 5 * MINUTE

    send(["vtest_300.jpg", "dog.jpg", "vtest_750.jpg"], start)

    zone = occupancy_zone()
    assert zone["people"] == 6 and zone["people_raw"] == 8
    assert CurrentCount.objects.get().recent == "6,0,8"
    assert [line["people"] for line in data_lake_lines()] == [6, 0, 8]


def test_a_single_outlying_count_does_not_move_the_live_figure(lobby, smoothing):
    start = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    counts = send(["vtest_450.jpg", "vtest_450.jpg", "dog.jpg"], start)

    assert [count.people for count in counts] == [3, 3, 0]
    assert [count.live for count in counts] == [3, 3, 3]


def test_the_window_keeps_only_the_last_counts(lobby, smoothing):
    start = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    send(["vtest_300.jpg", "dog.jpg", "vtest_750.jpg", "vtest_450.jpg"], start)

    stored = current_counts().for_zones([CurrentCount.objects.get().zone_id])
    [count] = stored.values()
    assert count.recent == (0, 8, 3)
    assert count.people == 3 and count.live == 3


def test_a_late_older_capture_stays_out_of_the_window(lobby, smoothing):
    start = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    send(["vtest_300.jpg", "vtest_750.jpg"], start)

    process("lobby", image_bytes("dog.jpg"), start - MINUTE)

    kept = CurrentCount.objects.get()
    assert kept.recent == "6,8" and kept.people == 8
    assert len(data_lake_lines()) == 3


def test_with_a_window_of_one_the_live_figure_is_the_latest_count(lobby, settings):
    camera, _ = lobby
    settings.SMOOTHING_WINDOW = 1
    record_contact(camera)

    send(["vtest_300.jpg", "dog.jpg"], datetime.now(UTC) - 3 * MINUTE)

    zone = occupancy_zone()
    assert zone["people"] == zone["people_raw"] == 0


def test_a_count_recorded_without_history_shows_as_it_is():
    count = ZoneCount(
        camera_id="lobby",
        zone_id=1,
        zone_name="Everywhere",
        people=4,
        captured_at=datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
        image_id="0" * 24,
        detector="ssdlite-mobilenetv2",
    )

    assert count.live == 4 and count.detected


def test_dynamodb_keeps_the_window_and_the_fingerprint(provisioned):  # noqa: F811
    count = ZoneCount(
        camera_id="lobby",
        zone_id=7,
        zone_name="Everywhere",
        people=5,
        captured_at=datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
        image_id="a" * 24,
        detector="rekognition",
        recent=(4, 6, 5),
        fingerprint=bytes(range(256)) * 3 + b"zone",
        since_detection=2,
    )

    current_counts().record([count])

    assert current_counts().for_zones([7]) == {7: count}
    assert count.live == 5 and not count.detected
