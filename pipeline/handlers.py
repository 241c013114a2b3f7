"""Entry points of the pipeline on AWS Lambda, declared in zappa_settings.json.

Each is a plain function of (event, context) that parses its event, calls
the same stage the local worker calls, and answers with a small summary.
S3 delivers every event at least once, so each stage is safe to run twice
on the same object. The image handlers let nothing escape: Zappa calls a
function again with fewer arguments when it raises TypeError, and Lambda
retries a failed call minutes later, past the two-minute limit on keeping
a picture. An image that cannot be processed is deleted at once, and the
failure logged and counted as a metric instead.
"""

import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

import django
from django.apps import apps
from django.conf import settings

logger = logging.getLogger(__name__)

# S3 allows keys of up to 1024 bytes.
MAX_KEY_LENGTH = 1024
METRIC_NAMESPACE = "Occupancy"
STAGES = {"image_cache": "crop", "processed_images": "count"}


class InvalidEvent(ValueError):
    pass


@dataclass(frozen=True)
class CreatedObject:
    bucket: str
    key: str


def crop_handler(event: Any, context: Any) -> dict[str, int]:
    """The crop stage, on each snapshot created in the image cache bucket."""
    _ready()
    from pipeline.crop import crop_snapshot

    return _handle_objects(
        event, "image_cache", settings.IMAGE_CACHE_BUCKET, crop_snapshot
    )


def count_handler(event: Any, context: Any) -> dict[str, int]:
    """The count stage, on each image created in the processed images
    bucket."""
    _ready()
    from pipeline.count import count_processed

    return _handle_objects(
        event, "processed_images", settings.PROCESSED_IMAGES_BUCKET, count_processed
    )


def retention_handler(event: Any, context: Any) -> dict[str, int]:
    """Every minute: delete what a failed or timed-out call left behind,
    and the control images past their retention."""
    _ready()
    from django.utils import timezone

    from devices.control_images import expire_control_images
    from pipeline.retention import SCHEDULED_ABANDON_AFTER, expire_images

    expired = expire_images(older_than=SCHEDULED_ABANDON_AFTER)
    keep = timedelta(days=settings.CONTROL_IMAGE_RETENTION_DAYS)
    control = expire_control_images(timezone.now(), keep)
    return {"expired": len(expired), "control_images_expired": control}


def history_handler(event: Any, context: Any) -> dict[str, Any]:
    """Once a day: the usual occupancy per hour, from the data lake.

    A failed refresh keeps the previous history and raises, so that Lambda
    tries the scheduled call again; there is no picture to delete.
    """
    _ready()
    # Imported at call time: the job needs Django's apps to be ready.
    from analytics.jobs import RefreshFailed, refresh_history
    from pipeline.compaction import compact_before_refresh

    # Yesterday's per-image objects merged first make the query cheaper.
    # At most half the call's time goes to it: the refresh must still fit.
    compact_before_refresh(budget=_remaining_seconds(context) / 2)
    # Both views: hour of day and the popular-times weekday by hour. One
    # failing does not stop the other; the call still fails for a retry.
    results, failed = [], []
    for by in ("hour", "weekday_hour"):
        try:
            result = refresh_history(by=by, days=None)
        except RefreshFailed:
            _count_failure("history")
            failed.append(by)
            continue
        results.append(
            {
                "by": result.run.by,
                "figures": result.figures,
                "samples": result.samples,
                "skipped": result.skipped,
            }
        )
    if failed:
        raise RefreshFailed(f"history refresh failed for {', '.join(failed)}")
    return {"refreshed": results}


def _remaining_seconds(context: Any, default: float = 30.0) -> float:
    """Seconds left in this Lambda call, from its context when it has one."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return default
    return max(remaining() / 1000, 0.0)


def parse_s3_event(event: Any) -> list[CreatedObject]:
    """The objects an S3 notification announces.

    S3 sends a test event, with no records, when a notification is first
    configured: it announces nothing. Keys arrive URL-encoded.
    """
    if not isinstance(event, dict):
        raise InvalidEvent("the event is not a JSON object")
    if event.get("Event") == "s3:TestEvent":
        return []
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise InvalidEvent("the event has no Records")
    return [_parse_record(record, index) for index, record in enumerate(records)]


def _parse_record(record: Any, index: int) -> CreatedObject:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        raise InvalidEvent(f"record {index} does not come from S3")
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith("ObjectCreated:"):
        raise InvalidEvent(f"record {index} is a {str(name)[:40]!r} event")
    s3 = record.get("s3")
    bucket = _dig(s3, "bucket", "name")
    key = _dig(s3, "object", "key")
    if not bucket or not key:
        raise InvalidEvent(f"record {index} names no bucket or key")
    key = unquote_plus(key)
    if len(key.encode()) > MAX_KEY_LENGTH:
        raise InvalidEvent(f"record {index} has a key longer than S3 allows")
    return CreatedObject(bucket=bucket, key=key)


def _dig(data: Any, *path: str) -> str | None:
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data if isinstance(data, str) else None


def _handle_objects(
    event: Any, alias: str, bucket: str, stage: Callable[[str], object]
) -> dict[str, int]:
    tally: Counter[str] = Counter(processed=0, failed=0, ignored=0)
    try:
        objects = parse_s3_event(event)
    except InvalidEvent as error:
        logger.warning("Ignored an event for the %s bucket: %s", alias, error)
        tally["ignored"] += 1
        return dict(tally)
    for created in objects:
        if created.bucket != bucket:
            logger.warning(
                "Ignored %s in bucket %s: this function serves bucket %s",
                created.key[:200],
                created.bucket,
                bucket,
            )
            tally["ignored"] += 1
            continue
        tally[_run(stage, alias, created.key)] += 1
    logger.info(
        "%s stage: %d processed, %d failed, %d ignored",
        STAGES[alias],
        tally["processed"],
        tally["failed"],
        tally["ignored"],
    )
    return dict(tally)


def _run(stage: Callable[[str], object], alias: str, name: str) -> str:
    try:
        stage(name)
    except Exception:
        logger.exception("Could not process %s from %s; deleting it", name, alias)
        _discard(alias, name)
        _count_failure(STAGES[alias])
        return "failed"
    return "processed"


def _discard(alias: str, name: str) -> None:
    from django.core.files.storage import storages

    try:
        storages[alias].delete(name)
    except Exception:
        # The retention sweep removes it within a minute and a half.
        logger.exception("Could not delete %s from %s either", name, alias)


def _count_failure(stage: str) -> None:
    # CloudWatch turns a JSON line in this shape (its embedded metric
    # format) into a metric, with no API call: a failure shows on a graph
    # and can raise an alarm. It must be a line of its own on stdout, not
    # a formatted log record.
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["Stage"]],
                    "Metrics": [{"Name": "Failures", "Unit": "Count"}],
                }
            ],
        },
        "Stage": stage,
        "Failures": 1,
    }
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def _ready() -> None:
    """Set Django up when Lambda calls in before Zappa did."""
    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "occupancy_site.settings")
    django.setup()
