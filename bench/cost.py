"""What one camera costs on AWS per month, by strategy and skipping.

    part of `make bench`

One snapshot a minute during twelve opening hours, thirty days a month.
The prices are list prices for us-east-1 (the region zappa_settings.json
deploys to), as known in November 2024, without free tiers. They were not
fetched from AWS and must be checked on the pricing pages named beside
them before a budget is built on these figures. The Lambda durations are
assumptions, not measurements: Lambda cannot run here.

What the benchmark measures feeds in: the share of snapshots on which the
detector runs when skipping, the size of a data lake line and of a
current counts item as the code writes them.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRICES_AS_OF = "2024-11"
# https://aws.amazon.com/rekognition/pricing/ : DetectLabels (image
# analysis, group 2), first million images a month.
REKOGNITION_PER_IMAGE = 0.001
# https://aws.amazon.com/lambda/pricing/ : x86.
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000166667
# https://aws.amazon.com/s3/pricing/ : S3 Standard. DELETE is free.
S3_PER_PUT = 0.005 / 1000
S3_PER_GET = 0.0004 / 1000
S3_PER_GB_MONTH = 0.023
# https://aws.amazon.com/dynamodb/pricing/on-demand/ : after the price
# cut of 1 November 2024.
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1_000_000
DYNAMODB_PER_READ_UNIT = 0.125 / 1_000_000
# https://aws.amazon.com/athena/pricing/ : per terabyte scanned.
ATHENA_PER_TB = 5.0
# https://aws.amazon.com/api-gateway/pricing/ : REST API, as Zappa deploys.
API_GATEWAY_PER_REQUEST = 3.50 / 1_000_000

SNAPSHOTS_PER_MONTH = 60 * 12 * 30
# Assumed Lambda durations, in seconds, at the memory zappa_settings.json
# gives: the upload target request; the crop stage (one S3 read, one
# write per processed image); the count stage without the detector (S3
# read, DynamoDB, the data lake write); and the wait for one DetectLabels.
PRESIGN_SECONDS = 0.05
CROP_SECONDS = 0.15
COUNT_SECONDS = 0.15
REKOGNITION_SECONDS = 0.40


@dataclass(frozen=True)
class Camera:
    zones: int
    line_bytes: int
    # A current counts item, without and with the fingerprint that
    # skipping keeps.
    item_bytes: int
    item_bytes_skipping: int
    history_days: int


def monthly_cost(
    camera: Camera, strategy: str, detected_share: float, skipping: bool
) -> dict[str, float]:
    """Dollars per month by service, for one camera."""
    images = camera.zones if strategy == "crop" else 1
    snapshots = SNAPSHOTS_PER_MONTH
    detections = snapshots * images * detected_share
    memory = _lambda_memory_gb()
    seconds = (
        PRESIGN_SECONDS
        + CROP_SECONDS
        + images * COUNT_SECONDS
        + images * detected_share * REKOGNITION_SECONDS
    )
    invocations = 2 + images
    # The camera's POST, the processed images and the data lake objects
    # are writes; the two stages each read their image.
    puts = 1 + images + images
    gets = 1 + images
    item = camera.item_bytes_skipping if skipping else camera.item_bytes
    write_units = math.ceil(item / 1024)
    reads = 0.5 * (1 + images)  # zone selections, eventually consistent
    if skipping:
        reads += 0.5 * camera.zones  # the zones' last counts
    lines = snapshots * camera.zones
    return {
        "Rekognition": detections * REKOGNITION_PER_IMAGE,
        "Lambda": snapshots
        * (invocations * LAMBDA_PER_REQUEST + seconds * memory * LAMBDA_PER_GB_SECOND),
        "S3": snapshots * (puts * S3_PER_PUT + gets * S3_PER_GET)
        + lines * camera.line_bytes / 1e9 * S3_PER_GB_MONTH,
        "DynamoDB": snapshots
        * (
            camera.zones * write_units * DYNAMODB_PER_WRITE_UNIT
            + reads * DYNAMODB_PER_READ_UNIT
        ),
        # The daily history query reads the last history_days of lines.
        "Athena": lines
        * camera.history_days
        * camera.line_bytes
        * ATHENA_PER_TB
        / 1e12,
        "API Gateway": snapshots * API_GATEWAY_PER_REQUEST,
    }


def report(detected_shares: Mapping[str, Mapping[str, float]]) -> None:
    """Print the table; detected_shares maps a strategy to the measured
    share of detected images per sequence."""
    from django.conf import settings

    camera = demo_camera(settings.HISTORY_DAYS)
    print(
        f"\nAWS cost per camera per month: one snapshot a minute, 12 opening "
        f"hours, 30 days ({SNAPSHOTS_PER_MONTH:,} snapshots), {camera.zones} zones;"
        f"\nlist prices of us-east-1 as of {PRICES_AS_OF}, to be checked; Lambda "
        f"durations assumed ({_lambda_memory_gb() * 1024:.0f} MB)"
    )
    services = list(monthly_cost(camera, "assign", 1.0, False))
    print(f"{'strategy':9} {'skipping':18} " + " ".join(f"{s:>11}" for s in services))
    for strategy in ("assign", "crop"):
        rows = [("no", 1.0, False)] + [
            (f"yes, {name} {share:.0%}", share, True)
            for name, share in detected_shares[strategy].items()
        ]
        for label, share, skipping in rows:
            cost = monthly_cost(camera, strategy, share, skipping)
            print(
                f"{strategy:9} {label:18} "
                + " ".join(f"{cost[s]:11.4f}" for s in services)
                + f"   total ${sum(cost.values()):.2f}"
            )
    print(
        f"  A data lake line takes {camera.line_bytes} bytes; a current counts "
        f"item {camera.item_bytes} bytes, {camera.item_bytes_skipping} with the "
        f"fingerprint\n  ({math.ceil(camera.item_bytes_skipping / 1024)} write "
        f"unit). Percentages: snapshots (crop: zone images) the detector ran "
        f"on.\n  Not included: the free tiers, the web API's readers, "
        f"CloudWatch logs, the retention sweep\n  and the history job's own "
        f"Lambda time, which the whole deployment shares."
    )


def demo_camera(history_days: int) -> Camera:
    from devices.demo import DEMO_ZONES

    count = _typical_count()
    line = json.dumps(count.to_record(), separators=(",", ":")) + "\n"
    plain = replace(count, fingerprint=b"")
    return Camera(
        zones=len(DEMO_ZONES),
        line_bytes=len(line.encode()),
        item_bytes=dynamodb_item_bytes(_dynamo_item(plain)),
        item_bytes_skipping=dynamodb_item_bytes(_dynamo_item(count)),
        history_days=history_days,
    )


def dynamodb_item_bytes(item: Mapping[str, object]) -> int:
    """The size DynamoDB bills an item by: names and values, in bytes."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: object) -> int:
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return 3 + sum(1 + _value_bytes(item) for item in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def _typical_count():
    from pipeline.counts import ZoneCount
    from pipeline.unchanged import CELLS, DIGEST_BYTES

    return ZoneCount(
        camera_id="cam-library-floor-1",
        zone_id=1234,
        zone_name="Reading room west",
        people=12,
        captured_at=datetime(2026, 12, 3, 14, 5, 0, 123456, tzinfo=UTC),
        image_id="2ce2754504fbcf8da6534a72",
        detector="rekognition",
        recent=(12,),
        fingerprint=bytes(DIGEST_BYTES + CELLS),
        since_detection=0,
    )


def _dynamo_item(count) -> dict:
    # The item exactly as the DynamoDB store writes it.
    from pipeline.dynamo import _encode

    return _encode(count)


def _lambda_memory_gb() -> float:
    path = ROOT / "zappa_settings.json"
    try:
        stages = json.loads(path.read_text())
        memory = next(iter(stages.values())).get("memory_size", 512)
    except (OSError, ValueError, StopIteration, AttributeError):
        memory = 512
    return memory / 1024
