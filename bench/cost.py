"""What one camera costs on AWS per month, by strategy and skipping.

    part of `make bench`

One snapshot a minute during twelve opening hours, thirty days a month,
priced by the model `manage.py aws_cost` prints too (pipeline.aws_costs:
its prices, their date and where each comes from, and the assumed Lambda
durations). What the benchmark measures feeds in: the share of images the
detector ran on when skipping, on each sequence of bench.skipping, and
the sizes of a data lake line and of a current counts item as the code
writes them.
"""

from collections.abc import Mapping

INTERVAL, HOURS, DAYS = 60.0, 12.0, 30
STRATEGIES = ("assign", "crop")


def report(detected_shares: Mapping[str, Mapping[str, float]]) -> None:
    """Print the table; detected_shares maps a strategy to the measured
    share of detected images per sequence."""
    from django.conf import settings

    from devices.demo import DEMO_ZONES
    from pipeline.aws_costs import (
        PIPELINE_MEMORY_MB,
        PRICES_DATE,
        WEB_MEMORY_MB,
        camera_usage,
        monthly_cost,
        table,
        write_units,
        written_sizes,
    )

    sizes = written_sizes(settings.SMOOTHING_WINDOW)
    zones = len(DEMO_ZONES)
    month = {"interval": INTERVAL, "hours": HOURS, "days": DAYS, "zones": zones}
    columns = {}
    for strategy in STRATEGIES:
        plain = camera_usage(sizes, None, strategy=strategy, **month)
        columns[strategy] = monthly_cost(plain)
        for name, share in detected_shares[strategy].items():
            skipping = camera_usage(sizes, share, strategy=strategy, **month)
            columns[f"{strategy}, skip ({name} {share:.0%})"] = monthly_cost(skipping)
    snapshots = next(iter(columns.values())).usage.snapshots

    print(
        f"\nAWS cost per camera per month: one snapshot every {INTERVAL:g} s, "
        f"{HOURS:g} opening hours, {DAYS} days ({snapshots:,.0f} snapshots), "
        f"{zones} zones;\nus-east-1 list prices of {PRICES_DATE}, no free tier, "
        f"to be checked; Lambda durations assumed\n(web {WEB_MEMORY_MB} MB, "
        f"pipeline {PIPELINE_MEMORY_MB} MB)"
    )
    for row in table(columns):
        print(row)
    item = sizes.item_bytes_skipping
    units = write_units(item)
    print(
        f"  A data lake line takes {sizes.line_bytes} bytes; a current counts "
        f"item {sizes.item_bytes} bytes, {item} with the fingerprint\n"
        f"  ({units} write unit(s), {units * 1024 - item} bytes to spare: a zone "
        f"name or camera id longer by more\n  takes one more).\n"
        f"  Percentages: images (crop: zone images) the detector ran on. Not "
        f"included: the free tiers,\n  the web API's readers and what does not "
        f"grow with cameras (`manage.py aws_cost` lists it)."
    )
