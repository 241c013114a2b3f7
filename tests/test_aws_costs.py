"""The monthly cost estimate of a camera on AWS (`manage.py aws_cost`)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pipeline.aws_costs import PRICES, SECONDS_PER_MONTH, per_camera


def test_rekognition_is_paid_once_per_snapshot_when_people_are_assigned():
    estimate = per_camera(60, zones=4)

    snapshots = SECONDS_PER_MONTH / 60
    assert estimate.snapshots == snapshots
    assert estimate.lines["Rekognition"] == pytest.approx(
        snapshots * PRICES["rekognition_image"]
    )


def test_cropping_pays_rekognition_once_per_zone():
    assign = per_camera(60, zones=3, strategy="assign")
    crop = per_camera(60, zones=3, strategy="crop")

    assert crop.lines["Rekognition"] == pytest.approx(3 * assign.lines["Rekognition"])
    assert crop.lines["Lambda"] > assign.lines["Lambda"]


def test_every_cost_follows_the_number_of_snapshots():
    slow, fast = per_camera(120), per_camera(60)

    for service, cost in slow.lines.items():
        assert fast.lines[service] == pytest.approx(2 * cost), service
    assert fast.total == pytest.approx(sum(fast.lines.values()))


@pytest.mark.parametrize(
    "interval, zones, strategy", [(0, 2, "assign"), (60, 0, "assign"), (60, 2, "x")]
)
def test_an_impossible_camera_is_refused(interval, zones, strategy):
    with pytest.raises(ValueError):
        per_camera(interval, zones, strategy)


def test_the_command_prints_a_table_per_interval():
    out = io.StringIO()

    call_command("aws_cost", "--interval", "60", "--interval", "300", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[1] == "| service | every 60 s | every 300 s |"
    total = next(line for line in lines if line.startswith("| total |"))
    assert total == (
        f"| total | ${per_camera(60).total:,.2f} | ${per_camera(300).total:,.2f} |"
    )
    assert any(line.startswith("  PostgreSQL") for line in lines)


def test_the_command_refuses_a_zero_interval():
    with pytest.raises(CommandError, match="interval > 0"):
        call_command("aws_cost", "--interval", "0", stdout=io.StringIO())
