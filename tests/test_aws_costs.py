"""The monthly cost of a camera on AWS (`manage.py aws_cost`, `make bench`).

The expectations are worked out by hand from the list prices: $0.001 an
image, $0.20 a million Lambda calls and $0.0000166667 a GB-second, $0.005
a thousand S3 PUTs or LISTs and $0.0004 a thousand GETs or HEADs, $0.625
and $0.125 a million DynamoDB write and read units, $5 a terabyte
scanned by Athena, $3.50 a million API Gateway requests, $0.08 a million
IoT connection minutes and $1 a million messages, $0.50 a GB of logs.
"""

import io
import json
import tomllib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pipeline.aws_costs import (
    HEARTBEAT_SECONDS,
    PIPELINE_MEMORY_MB,
    WEB_MEMORY_MB,
    Usage,
    camera_usage,
    dynamodb_item_bytes,
    monthly_cost,
    table,
    write_units,
    written_sizes,
)
from pipeline.unchanged import CELLS, DIGEST_BYTES

ROOT = Path(__file__).resolve().parent.parent


def usage(**inputs) -> Usage:
    """20 days of 10 opening hours at one snapshot a minute: 12,000
    snapshots; an hourly heartbeat: 720 a month."""
    fixed = {
        "line_bytes": 200,
        "item_bytes": 500,
        "interval": 60,
        "hours": 10,
        "days": 20,
        "zones": 2,
        "heartbeat_seconds": 3600,
    }
    return Usage(**{**fixed, **inputs})


def line(item: str, **inputs) -> float:
    return monthly_cost(usage(**inputs)).lines[item]


def test_rekognition_is_paid_once_per_snapshot_when_people_are_assigned():
    assert usage().snapshots == 12_000
    assert line("Rekognition", zones=4) == pytest.approx(12.00)


def test_cropping_pays_rekognition_once_per_zone():
    assert line("Rekognition", zones=3, strategy="crop") == pytest.approx(36.00)


def test_skipping_half_the_images_halves_rekognition():
    half = {"skipping": True, "detected_share": 0.5}

    assert line("Rekognition", **half) == pytest.approx(6.00)
    assert line("Rekognition", strategy="crop", **half) == pytest.approx(12.00)


def test_lambda_pays_every_call_and_each_stage_at_its_memory():
    # 36,720 calls: upload target, crop, count per snapshot, heartbeats.
    # GB-s: 12,000 x (0.5 GB x 0.05 s + 1 GB x (0.15 + 0.15 + 0.40) s)
    # = 8,700; heartbeats 720 x 0.5 x 0.05 = 18; compaction of 12,000
    # objects x 0.01 s = 120. 8,838 GB-s.
    expected = 36_720 * 0.20e-6 + 8_838 * 0.0000166667

    assert line("Lambda") == pytest.approx(expected)


def test_lambda_time_follows_the_detected_share():
    # Half the detector waits: 12,000 x 0.5 x 0.40 s x 1 GB fewer.
    saved = 2_400 * 0.0000166667

    skipping = line("Lambda", skipping=True, detected_share=0.5)
    assert line("Lambda") - skipping == pytest.approx(saved)


def test_s3_requests_cover_the_stages_and_the_daily_compaction():
    # PUTs: 12,000 x (POST, processed image, data lake object) = 36,000,
    # 200 merged camera-hours, (12,000 + 6 x 200) / 1,000 listings.
    # GETs: HEAD and GET of 12,000 x 2 stage reads, 12,000 lake objects
    # and 200 merged objects: 72,400.
    expected = 36_213.2 * 0.005 / 1000 + 72_400 * 0.0004 / 1000

    assert line("S3 requests") == pytest.approx(expected)


def test_a_month_of_data_lake_lines_is_stored():
    # 12,000 snapshots x 2 zones x 200 bytes = 4.8 MB.
    assert line("S3 storage") == pytest.approx(0.0048 * 0.023)


def test_an_item_over_one_kilobyte_takes_two_write_units_per_zone():
    # Two zones' items, plus the crop and count audit events, a snapshot.
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert line("DynamoDB writes", item_bytes=1024) == pytest.approx(48_000 * 0.625e-6)
    assert line("DynamoDB writes", item_bytes=1025) == pytest.approx(72_000 * 0.625e-6)


def test_cropping_audits_each_zone_image():
    # 12,000 x (2 items + the crop event + 2 count events).
    expected = 60_000 * 0.625e-6

    assert line("DynamoDB writes", strategy="crop") == pytest.approx(expected)


def test_skipping_reads_each_zone_s_last_count():
    # Half a unit per zone selections read (crop, count) and, skipping,
    # per zone's last count.
    assert line("DynamoDB reads") == pytest.approx(12_000 * 0.125e-6)
    assert line("DynamoDB reads", skipping=True) == pytest.approx(24_000 * 0.125e-6)


def test_athena_bills_each_small_query_ten_megabytes():
    # 4.8 MB of lines a month is 0.16 MB a day: 8 partitions (1.28 MB)
    # and 29 (4.64 MB) are each billed as 10 MB, two queries a day.
    assert line("Athena scans") == pytest.approx(30 * 2 * 10e6 / 1e12 * 5)


def test_athena_bills_a_large_scan_by_the_megabyte():
    # 259,200 snapshots x 50 zones x 200 bytes = 86.4 MB a day: 691.2 MB
    # rounded to 692, 2,505.6 to 2,506, every day.
    cost = line("Athena scans", interval=10, hours=24, days=30, zones=50)

    assert cost == pytest.approx(30 * (692 + 2_506) * 1e6 / 1e12 * 5)


def test_iot_pays_an_always_connected_camera_and_its_messages():
    # 43,200 minutes; 30 connections x 6 messages, 4 commands x 3 and
    # 4 configurations x 4: 208 messages. Keep-alives are free.
    expected = 43_200 * 0.08e-6 + 208 * 1e-6

    assert line("IoT") == pytest.approx(expected)
    assert line("IoT", interval=10, zones=8) == pytest.approx(expected)


def test_api_gateway_serves_upload_targets_and_heartbeats():
    assert line("API Gateway") == pytest.approx(12_720 * 3.50e-6)


def test_every_call_logs_a_few_hundred_bytes():
    assert line("CloudWatch Logs") == pytest.approx(36_720 * 400 / 1e9 * 0.50)


def test_the_total_adds_up_every_line():
    estimate = monthly_cost(usage(strategy="crop", zones=3))

    assert len(estimate.lines) == 10
    assert estimate.total == pytest.approx(sum(estimate.lines.values()))


@pytest.mark.parametrize(
    "inputs, problem",
    [
        ({"interval": 0}, "interval"),
        ({"hours": 25}, "opening hours"),
        ({"days": 31}, "days"),
        ({"zones": 0}, "zone"),
        ({"strategy": "x"}, "strategy"),
        ({"skipping": True, "detected_share": 1.5}, "share"),
        ({"detected_share": 0.5}, "without skipping"),
        ({"item_bytes": 0}, "sizes"),
    ],
)
def test_an_impossible_camera_is_refused(inputs, problem):
    with pytest.raises(ValueError, match=problem):
        usage(**inputs)


def test_an_item_is_sized_as_dynamodb_bills_it():
    # Names and values: 1 + 3, 1 + 3 (3 digits: 2 + 1), 1 + 2, and
    # 1 + 3 + 2 x (1 + 2) for the list.
    item = {"a": "xyz", "n": 123, "b": b"\x00\x01", "l": [1, 2]}

    assert dynamodb_item_bytes(item) == 21


def test_the_fingerprint_is_what_skipping_adds_to_an_item():
    sizes = written_sizes()

    assert sizes.item_bytes_skipping - sizes.item_bytes == DIGEST_BYTES + CELLS
    assert sizes.item(skipping=True) == sizes.item_bytes_skipping
    assert written_sizes(smoothing_window=3).item_bytes > sizes.item_bytes


def test_the_lambda_memory_is_the_zappa_stages():
    stages = json.loads((ROOT / "zappa_settings.json").read_text())

    assert stages["dev"]["memory_size"] == WEB_MEMORY_MB
    assert stages["dev_pipeline"]["extends"] == "dev"
    assert stages["dev_pipeline"]["memory_size"] == PIPELINE_MEMORY_MB


def test_the_heartbeat_is_the_camera_agent_s_default():
    example = tomllib.loads((ROOT / "pi" / "agent.example.toml").read_text())

    assert example["heartbeat_seconds"] == HEARTBEAT_SECONDS


def test_the_command_prints_a_table_per_interval():
    out = io.StringIO()

    call_command("aws_cost", "--interval", "60", "--interval", "300", stdout=out)

    lines = out.getvalue().splitlines()
    assert "12 opening hours a day, 30 days" in lines[0]
    assert "list prices of 2025-06-01" in lines[0]
    assert lines[1] == "| item | every 60 s | every 300 s |"
    # 21,600 and 4,320 snapshots a month.
    assert "| Rekognition | $21.60 | $4.32 |" in lines
    sizes = written_sizes()
    expected = table(
        {
            f"every {interval} s": monthly_cost(camera_usage(sizes, interval=interval))
            for interval in (60, 300)
        }
    )
    assert lines[1 : 1 + len(expected)] == expected
    assert any(line.startswith("  PostgreSQL") for line in lines)


def test_the_command_prices_the_hours_and_the_skipping_it_is_given():
    out = io.StringIO()

    call_command(
        "aws_cost",
        *("--interval", "60", "--hours", "24", "--strategy", "crop"),
        *("--detected-share", "0.25"),
        stdout=out,
    )

    # 43,200 snapshots x 2 zone images x a quarter.
    assert "| Rekognition | $21.60 |" in out.getvalue().splitlines()
    assert "skipping, detector on 25%" in out.getvalue()


@pytest.mark.parametrize(
    "arguments, problem",
    [
        (["--interval", "0"], "interval"),
        (["--hours", "0"], "opening hours"),
        (["--detected-share", "2"], "share"),
    ],
)
def test_the_command_refuses_an_impossible_camera(arguments, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("aws_cost", *arguments, stdout=io.StringIO())
