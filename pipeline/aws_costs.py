"""What one camera costs per month on the aws backend, from list prices.

monthly_cost() counts what the deployment does for one camera in a month
(the requests, function time and bytes of each snapshot, the heartbeats,
the MQTT connection, its part of the daily history job) and prices it.
`manage.py aws_cost` and `make bench` both print it: the benchmark feeds
in the share of images the detector runs on when skipping unchanged
snapshots, as it measures it; both take the sizes of a data lake line and
of a current counts item from the code that writes them (written_sizes).

The prices are us-east-1 list prices (the region zappa_settings.json
deploys to) as the AWS pricing pages gave them on PRICES_DATE, without
free tiers or volume discounts; nothing here fetches them, so check the
pages before building a budget on the figures. Sizes are in decimal
units, as the pages state them. The Lambda durations are assumptions,
not measurements: Lambda cannot run here. Cameras are taken to upload
through a presigned POST (/api/v1/uploads/presign), the path meant for
AWS. What does not grow with cameras is in FIXED_MONTHLY, apart.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from pipeline.compaction import LOOKBACK_DAYS

PRICES_DATE = date(2025, 6, 1)
MB, GB, TB = 1e6, 1e9, 1e12

# https://aws.amazon.com/rekognition/pricing/ : DetectLabels, first
# million images a month; the detector asks for GENERAL_LABELS only.
REKOGNITION_PER_IMAGE = 0.001
# https://aws.amazon.com/lambda/pricing/ : x86, as Zappa deploys.
LAMBDA_PER_REQUEST = 0.20 / 1e6
LAMBDA_PER_GB_SECOND = 0.0000166667
# https://aws.amazon.com/s3/pricing/ : S3 Standard. PUT, POST and LIST
# are billed alike, HEAD like GET; DELETE is free.
S3_PER_PUT = 0.005 / 1000
S3_PER_GET = 0.0004 / 1000
S3_PER_GB_MONTH = 0.023
# https://aws.amazon.com/dynamodb/pricing/on-demand/ : since the cut of
# 1 November 2024. A write unit takes 1 KB of item; an eventually
# consistent read of up to 4 KB takes half a read unit.
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_PER_READ_UNIT = 0.125 / 1e6
# https://aws.amazon.com/athena/pricing/ : per terabyte scanned, each
# query rounded up to a megabyte and billed ten megabytes at least.
ATHENA_PER_TB = 5.0
ATHENA_MINIMUM_BYTES = 10 * MB
# https://aws.amazon.com/api-gateway/pricing/ : REST API, as Zappa deploys.
API_GATEWAY_PER_REQUEST = 3.50 / 1e6
# https://aws.amazon.com/iot-core/pricing/ : connectivity per minute
# connected; messaging per message of up to 5 KB. MQTT PINGREQ and
# PINGRESP are not metered (a keep-alive of 30 s or more), nor are the
# broker's CONNACK, SUBACK and PUBACK; a device's PUBACK is.
IOT_PER_CONNECTION_MINUTE = 0.08 / 1e6
IOT_PER_MESSAGE = 1.00 / 1e6
# https://aws.amazon.com/cloudwatch/pricing/ : Logs, standard ingestion.
LOGS_PER_GB = 0.50
# https://aws.amazon.com/rds/postgresql/pricing/ : db.t4g.micro,
# single-AZ, and gp3 storage.
RDS_PER_HOUR = 0.016
RDS_PER_GB_MONTH = 0.115

MONTH_DAYS = 30
# The two Zappa stages of zappa_settings.json: `dev` runs the web API
# (upload targets, heartbeats), `dev_pipeline` the crop and count stages
# and the daily history job.
WEB_MEMORY_MB = 512
PIPELINE_MEMORY_MB = 1024
# The camera agent's default (pi/agent.example.toml). Heartbeats go on
# around the clock, opening hours or not.
HEARTBEAT_SECONDS = 60
# Assumed: the agent stays connected and reconnects about once a day.
# Each connection is a CONNECT, three SUBSCRIBEs, and the retained
# configuration delivered with the camera's PUBACK.
IOT_CONNECTIONS = MONTH_DAYS
IOT_MESSAGES_PER_CONNECTION = 1 + 3 + 2
# Assumed a month: control images asked for, each published over HTTPS,
# delivered and acknowledged; configurations published, each also
# metered once more as the retained message.
IOT_COMMANDS, IOT_CONFIGS = 4, 4
IOT_COMMAND_MESSAGES, IOT_CONFIG_MESSAGES = 3, 4
# An image audit event (pipeline stage, time, short outcome) is about
# 200 bytes: one write unit. The crop and count stages each write one.
AUDIT_WRITE_UNITS = 1
# A zone selections item (a camera's polygons) stays under 4 KB.
ZONE_SELECTION_READ_UNITS = 0.5
# Assumed: START, END and REPORT lines plus the stage's own info line.
LOG_BYTES_PER_CALL = 400
# What the history job reads: the window's daily partitions are read
# whole, and a window of N days ending on the hour touches N + 1 of them.
EXTRA_PARTITIONS = 1
NAMES_PER_LISTING = 1000


@dataclass(frozen=True)
class Usage:
    """One camera: how it samples, and what the deployment does for it.

    detected_share is the share of processed images the detector runs on:
    1 without skipping. item_bytes is a current counts item as DynamoDB
    sizes it, with the fingerprint when skipping. The durations are in
    seconds per call: the upload target, a heartbeat, the crop stage, the
    count stage without the detector, the wait for one detector call, and
    the daily compaction's work per data lake object.
    """

    line_bytes: int
    item_bytes: int
    interval: float = 60.0
    hours: float = 12.0
    days: int = MONTH_DAYS
    zones: int = 2
    strategy: str = "assign"
    skipping: bool = False
    detected_share: float = 1.0
    history_days: int = 7
    weekday_days: int = 28
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    web_memory_mb: int = WEB_MEMORY_MB
    pipeline_memory_mb: int = PIPELINE_MEMORY_MB
    presign_seconds: float = 0.05
    heartbeat_call_seconds: float = 0.05
    crop_seconds: float = 0.15
    count_seconds: float = 0.15
    detector_seconds: float = 0.40
    compact_seconds: float = 0.01

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ValueError(problem)

    @property
    def snapshots(self) -> float:
        return self.days * self.hours * 3600 / self.interval

    @property
    def images(self) -> int:
        """Processed images, and detector calls, per snapshot."""
        return self.zones if self.strategy == "crop" else 1

    @property
    def heartbeats(self) -> float:
        return MONTH_DAYS * 24 * 3600 / self.heartbeat_seconds


def _problem(usage: Usage) -> str:
    if usage.interval <= 0:
        return f"the interval must be over 0 seconds, not {usage.interval:g}"
    if not 0 < usage.hours <= 24:
        return f"opening hours must be over 0 and at most 24, not {usage.hours:g}"
    if not 1 <= usage.days <= MONTH_DAYS:
        return f"days must be from 1 to {MONTH_DAYS}, not {usage.days}"
    if usage.zones < 1:
        return f"a camera has at least one zone, not {usage.zones}"
    if usage.strategy not in ("assign", "crop"):
        return f"the strategy is assign or crop, not {usage.strategy!r}"
    if not 0 <= usage.detected_share <= 1:
        return f"the detected share is from 0 to 1, not {usage.detected_share:g}"
    if not usage.skipping and usage.detected_share != 1:
        return "without skipping the detector runs on every image (share 1)"
    if usage.line_bytes < 1 or usage.item_bytes < 1:
        return "line and item sizes must be at least one byte"
    if usage.heartbeat_seconds <= 0:
        return "the heartbeat period must be over 0 seconds"
    return ""


@dataclass(frozen=True)
class Estimate:
    usage: Usage
    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def monthly_cost(usage: Usage) -> Estimate:
    """Dollars a month by line item, for one camera."""
    u = usage
    detections = u.snapshots * u.images * u.detected_share
    lines = {
        "Rekognition": detections * REKOGNITION_PER_IMAGE,
        "Lambda": _calls(u) * LAMBDA_PER_REQUEST
        + _gb_seconds(u) * LAMBDA_PER_GB_SECOND,
        "S3 requests": _puts(u) * S3_PER_PUT + _gets(u) * S3_PER_GET,
        # The data lake keeps its lines: each month adds this much.
        "S3 storage": _lake_bytes(u) / GB * S3_PER_GB_MONTH,
        "DynamoDB writes": _write_units(u) * DYNAMODB_PER_WRITE_UNIT,
        "DynamoDB reads": _read_units(u) * DYNAMODB_PER_READ_UNIT,
        "Athena scans": _athena_bytes(u) / TB * ATHENA_PER_TB,
        "IoT": _iot(),
        "API Gateway": (u.snapshots + u.heartbeats) * API_GATEWAY_PER_REQUEST,
        "CloudWatch Logs": _calls(u) * LOG_BYTES_PER_CALL / GB * LOGS_PER_GB,
    }
    return Estimate(usage=usage, lines=lines)


def _calls(u: Usage) -> float:
    # The upload target, the crop stage, one count per processed image.
    return u.snapshots * (2 + u.images) + u.heartbeats


def _gb_seconds(u: Usage) -> float:
    web, pipeline = u.web_memory_mb / 1024, u.pipeline_memory_mb / 1024
    per_snapshot = web * u.presign_seconds + pipeline * (
        u.crop_seconds
        + u.images * u.count_seconds
        + u.images * u.detected_share * u.detector_seconds
    )
    compaction = _lake_objects(u) * u.compact_seconds * pipeline
    heartbeats = u.heartbeats * web * u.heartbeat_call_seconds
    return u.snapshots * per_snapshot + heartbeats + compaction


def _lake_objects(u: Usage) -> float:
    """The count stage writes one data lake object per processed image."""
    return u.snapshots * u.images


def _camera_hours(u: Usage) -> float:
    """The compacted objects of a month: one per camera and hour."""
    return u.days * math.ceil(u.hours)


def _puts(u: Usage) -> float:
    # The camera's POST, each processed image, each data lake object;
    # compaction writes one object an hour and lists its days, the last
    # LOOKBACK_DAYS of them on every run.
    listed = _lake_objects(u) + (LOOKBACK_DAYS - 1) * _camera_hours(u)
    stages = u.snapshots * (1 + 2 * u.images)
    return stages + _camera_hours(u) + listed / NAMES_PER_LISTING


def _gets(u: Usage) -> float:
    # Opening an S3 object to read it is a HEAD and a GET: the crop stage
    # opens the snapshot, the count stage its image, compaction each data
    # lake object and then its merged object to check it.
    stages = u.snapshots * (1 + u.images)
    return 2 * (stages + _lake_objects(u) + _camera_hours(u))


def _lake_bytes(u: Usage) -> float:
    return u.snapshots * u.zones * u.line_bytes


def write_units(item_bytes: int) -> int:
    """The write units a put of an item of this size takes."""
    return math.ceil(item_bytes / 1024)


def _write_units(u: Usage) -> float:
    counts = u.zones * write_units(u.item_bytes)
    audit = (1 + u.images) * AUDIT_WRITE_UNITS
    return u.snapshots * (counts + audit)


def _read_units(u: Usage) -> float:
    # Each stage call reads the camera's zones; skipping reads each zone's
    # last count (eventually consistent) to compare the picture with.
    selections = (1 + u.images) * ZONE_SELECTION_READ_UNITS
    previous = u.zones * 0.5 * math.ceil(u.item_bytes / 4096) if u.skipping else 0
    return u.snapshots * (selections + previous)


def _athena_bytes(u: Usage) -> float:
    """Bytes billed a month for the daily history job's two queries.

    The minimum is charged as if the camera were the deployment's only
    one; with more cameras it is shared among them.
    """
    per_day = _lake_bytes(u) / MONTH_DAYS
    windows = (u.history_days, u.weekday_days)
    return MONTH_DAYS * sum(
        _billed_scan((days + EXTRA_PARTITIONS) * per_day) for days in windows
    )


def _billed_scan(scanned: float) -> float:
    return max(math.ceil(scanned / MB) * MB, ATHENA_MINIMUM_BYTES)


def _iot() -> float:
    minutes = MONTH_DAYS * 24 * 60
    messages = (
        IOT_CONNECTIONS * IOT_MESSAGES_PER_CONNECTION
        + IOT_COMMANDS * IOT_COMMAND_MESSAGES
        + IOT_CONFIGS * IOT_CONFIG_MESSAGES
    )
    return minutes * IOT_PER_CONNECTION_MINUTE + messages * IOT_PER_MESSAGE


# Per month, whatever the number of cameras: the database, the retention
# sweep every minute (1 GB for 0.3 s and two listings), Zappa's keep-warm
# call every four minutes (0.5 GB for 0.01 s), and the history job's own
# function time (1 GB for 20 s a day, waiting on its two queries).
FIXED_MONTHLY = {
    "PostgreSQL (RDS db.t4g.micro, 20 GB)": RDS_PER_HOUR * MONTH_DAYS * 24
    + 20 * RDS_PER_GB_MONTH,
    "retention sweep every minute (Lambda, S3 listings)": MONTH_DAYS
    * 24
    * 60
    * (0.3 * LAMBDA_PER_GB_SECOND + LAMBDA_PER_REQUEST + 2 * S3_PER_PUT),
    "keep-warm call every four minutes (Lambda)": MONTH_DAYS
    * 24
    * 15
    * (0.005 * LAMBDA_PER_GB_SECOND + LAMBDA_PER_REQUEST),
    "history job, once a day (Lambda)": MONTH_DAYS
    * (20 * LAMBDA_PER_GB_SECOND + LAMBDA_PER_REQUEST),
}


def table(columns: Mapping[str, Estimate]) -> list[str]:
    """A Markdown table: one row per line item, one column per estimate."""
    estimates = list(columns.values())
    rows = [["item", *columns], ["---"] * (len(columns) + 1)]
    for item in estimates[0].lines:
        rows.append([item, *(dollars(e.lines[item]) for e in estimates)])
    rows.append(["total", *(dollars(e.total) for e in estimates)])
    return ["| " + " | ".join(row) + " |" for row in rows]


def dollars(amount: float) -> str:
    if 0 < amount < 0.00005:
        return "< $0.0001"
    if amount < 0.01:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


@dataclass(frozen=True)
class Sizes:
    """What the code writes for one zone of a typical camera."""

    line_bytes: int
    item_bytes: int
    item_bytes_skipping: int  # with the fingerprint skipping compares

    def item(self, skipping: bool) -> int:
        return self.item_bytes_skipping if skipping else self.item_bytes


def written_sizes(smoothing_window: int = 1) -> Sizes:
    """The sizes of a data lake line and of a current counts item, as the
    count stage writes them for a typical zone."""
    # Imported here: the stores need Django's apps to be ready.
    from pipeline.dynamo import _encode

    count = _typical_count(smoothing_window)
    line = json.dumps(count.to_record(), separators=(",", ":")) + "\n"
    plain = replace(count, fingerprint=b"")
    return Sizes(
        line_bytes=len(line.encode()),
        item_bytes=dynamodb_item_bytes(_encode(plain)),
        item_bytes_skipping=dynamodb_item_bytes(_encode(count)),
    )


def camera_usage(
    sizes: Sizes, detected_share: float | None = None, **inputs: Any
) -> Usage:
    """A Usage with the written sizes and this deployment's history windows.

    detected_share None means no skipping; the other inputs are Usage's.
    """
    from django.conf import settings

    skipping = detected_share is not None
    return Usage(
        line_bytes=sizes.line_bytes,
        item_bytes=sizes.item(skipping),
        skipping=skipping,
        detected_share=1.0 if detected_share is None else detected_share,
        history_days=settings.HISTORY_DAYS,
        weekday_days=settings.HISTORY_WEEKDAY_DAYS,
        **inputs,
    )


def _typical_count(smoothing_window: int):
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
        recent=(12,) * smoothing_window,
        fingerprint=bytes(DIGEST_BYTES + CELLS),
        since_detection=0,
    )


def dynamodb_item_bytes(item: Mapping[str, object]) -> int:
    """The size DynamoDB bills an item by: names and values, in bytes."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: object) -> int:
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float):
        digits = len(str(abs(value)).replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list):
        return 3 + sum(1 + _value_bytes(item) for item in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")
