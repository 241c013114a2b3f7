"""What one camera costs per month on the aws backend, from list prices.

The figures multiply what the pipeline does for one snapshot (requests,
function time, bytes) by the snapshots of a month at a sampling interval.
PRICES are us-east-1 list prices as published on PRICES_DATE, without
free tiers or volume discounts; other regions differ by a few percent.
The costs that do not grow with cameras (the database, the minute's sweep,
the deploy bucket) are in FIXED_MONTHLY, apart.
"""

from dataclasses import dataclass
from datetime import date

PRICES_DATE = date(2025, 6, 1)
PRICES = {
    # DetectLabels, first million images a month.
    "rekognition_image": 0.001,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "api_gateway_request": 3.50 / 1e6,
    "s3_write_request": 0.005 / 1000,
    "s3_read_request": 0.0004 / 1000,
    "s3_gb_month": 0.023,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "athena_tb_scanned": 5.0,
    "logs_gb_ingested": 0.50,
}
# Per month, whatever the number of cameras: a db.t4g.micro PostgreSQL
# with 20 GB, the sweep every minute (1 GB for 0.3 s and two listings).
FIXED_MONTHLY = {
    "PostgreSQL (RDS db.t4g.micro, 20 GB)": 0.016 * 730 + 20 * 0.115,
    "sweep every minute (Lambda, S3 listings)": 43_200
    * (0.3 * PRICES["lambda_gb_second"] + PRICES["lambda_request"] + 2 * 5e-6),
}

SECONDS_PER_MONTH = 30 * 24 * 3600
# Assumed from how the stages work; the function times are typical for a
# 1 GB function and a Rekognition round trip, not measured on AWS.
CROP_SECONDS, COUNT_SECONDS, PRESIGN_SECONDS = 0.25, 0.6, 0.05
PIPELINE_GB, WEB_GB = 1.0, 0.5
RECORD_BYTES = 200
LOG_BYTES_PER_CALL = 400


@dataclass(frozen=True)
class Estimate:
    interval: float
    zones: int
    strategy: str
    lines: dict[str, float]

    @property
    def snapshots(self) -> float:
        return SECONDS_PER_MONTH / self.interval

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def per_camera(interval: float, zones: int = 2, strategy: str = "assign") -> Estimate:
    """The monthly cost of one camera sending a snapshot every interval s."""
    if interval <= 0 or zones < 1 or strategy not in ("assign", "crop"):
        raise ValueError("interval > 0, zones >= 1, strategy assign or crop")
    snapshots = SECONDS_PER_MONTH / interval
    images = zones if strategy == "crop" else 1  # detector calls per snapshot
    p = PRICES
    calls = 2 + images  # presign, crop, one count per processed image
    lines = {
        "Rekognition": images * p["rekognition_image"],
        "Lambda": calls * p["lambda_request"]
        + p["lambda_gb_second"]
        * (
            WEB_GB * PRESIGN_SECONDS
            + PIPELINE_GB * (CROP_SECONDS + images * COUNT_SECONDS)
        ),
        "API Gateway": p["api_gateway_request"],
        # Writes: the upload, each processed image, each data lake object;
        # reads: a HEAD and a GET for the snapshot and each processed image.
        "S3": (1 + 2 * images) * p["s3_write_request"]
        + 2 * (1 + images) * p["s3_read_request"]
        + zones * RECORD_BYTES / 1e9 * p["s3_gb_month"],
        # One conditional write per zone; two eventually consistent reads
        # of the camera's zones (half a unit each).
        "DynamoDB": zones * p["dynamodb_write_unit"] + p["dynamodb_read_unit"],
        # The daily query reads the last seven days of records.
        "Athena": zones * RECORD_BYTES * 7 / 1e12 * p["athena_tb_scanned"],
        "CloudWatch Logs": calls * LOG_BYTES_PER_CALL / 1e9 * p["logs_gb_ingested"],
    }
    return Estimate(
        interval=interval,
        zones=zones,
        strategy=strategy,
        lines={name: cost * snapshots for name, cost in lines.items()},
    )
