"""The historical data store on DynamoDB.

One item per figure, keyed by scope (partition) and slot (sort), so that a
scope's day or week is one Query. Each granularity's last refresh is an
item of its own under the scope "runs", with the granularity as its slot.
"""

import logging
import time
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from analytics.history import SLOT_PREFIX, Figure, Run, granularity_of
from analytics.query import Granularity
from occupancy_site import aws

logger = logging.getLogger(__name__)

RUNS = "runs"
BATCH_GET_LIMIT = 100
UNPROCESSED_RETRIES = 5


class DynamoHistoricalData:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def replace(self, run: Run, figures: Iterable[Figure]) -> None:
        """Write the new figures, then delete the old ones left over.

        DynamoDB has no transaction of this size: a reader may meet old and
        new figures together for the seconds a refresh takes, each of them
        whole. The run's item is written last, once the figures are in.
        """
        table = self._table()
        fresh = list(figures)
        if any(granularity_of(figure.slot) != run.by for figure in fresh):
            raise ValueError(f"Every slot of a {run.by} refresh must be of it")
        kept = {(figure.scope, figure.slot) for figure in fresh}
        with table.batch_writer(overwrite_by_pkeys=["scope", "slot"]) as batch:
            for figure in fresh:
                batch.put_item(Item=_encode(figure))
            for key in self._keys(run.by):
                if key not in kept:
                    batch.delete_item(Key={"scope": key[0], "slot": key[1]})
        table.put_item(Item=_encode_run(run))

    def run(self, by: Granularity) -> Run | None:
        reply = self._table().get_item(Key={"scope": RUNS, "slot": by})
        item = reply.get("Item")
        return _decode_run(item) if item else None

    def for_scope(self, scope: str, by: Granularity) -> list[Figure]:
        condition = Key("scope").eq(scope) & Key("slot").begins_with(SLOT_PREFIX[by])
        return [_decode(item) for item in self._query(condition)]

    def at_slot(self, scopes: Iterable[str], slot: str) -> dict[str, Figure]:
        wanted = sorted(set(scopes))
        found: dict[str, Figure] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            chunk = wanted[start : start + BATCH_GET_LIMIT]
            keys = [{"scope": scope, "slot": slot} for scope in chunk]
            for item in self._batch_get(keys):
                found[item["scope"]] = _decode(item)
        return found

    def _table(self) -> Any:
        return aws.resource("dynamodb").Table(self.table_name)

    def _query(self, condition: Any) -> list[dict[str, Any]]:
        table = self._table()
        arguments: dict[str, Any] = {"KeyConditionExpression": condition}
        items: list[dict[str, Any]] = []
        while True:
            page = table.query(**arguments)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _keys(self, by: Granularity) -> set[tuple[str, str]]:
        # A scan, but of a small table, once per refresh: a zone gone from
        # the data lake must not keep its old figures.
        table = self._table()
        arguments: dict[str, Any] = {
            "ProjectionExpression": "#scope, slot",
            "ExpressionAttributeNames": {"#scope": "scope"},
            "FilterExpression": Attr("slot").begins_with(SLOT_PREFIX[by])
            & Attr("scope").ne(RUNS),
        }
        keys: set[tuple[str, str]] = set()
        while True:
            page = table.scan(**arguments)
            keys.update((item["scope"], item["slot"]) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return keys
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        dynamodb = aws.resource("dynamodb")
        request = {self.table_name: {"Keys": keys}}
        items: list[dict[str, Any]] = []
        for attempt in range(UNPROCESSED_RETRIES + 1):
            reply = dynamodb.batch_get_item(RequestItems=request)
            items.extend(reply["Responses"].get(self.table_name, []))
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                return items
            # DynamoDB hands back what it could not read under load.
            time.sleep(0.05 * 2**attempt)
        logger.warning(
            "DynamoDB left %d figures of %s unread",
            len(request[self.table_name]["Keys"]),
            self.table_name,
        )
        return items


def _number(value: float) -> Decimal:
    # DynamoDB numbers are decimals; repr gives each float's shortest
    # exact spelling instead of its binary expansion.
    return Decimal(repr(float(value)))


def _encode(figure: Figure) -> dict[str, Any]:
    return {
        "scope": figure.scope,
        "slot": figure.slot,
        "average": _number(figure.average),
        "samples": int(figure.samples),
        "low": _number(figure.low),
        "high": _number(figure.high),
    }


def _decode(item: dict[str, Any]) -> Figure:
    return Figure(
        scope=str(item["scope"]),
        slot=str(item["slot"]),
        average=float(item["average"]),
        samples=int(item["samples"]),
        low=float(item["low"]),
        high=float(item["high"]),
    )


def _encode_run(run: Run) -> dict[str, Any]:
    return {
        "scope": RUNS,
        "slot": run.by,
        "computed_at": run.computed_at.isoformat(),
        "window_start": run.window_start.isoformat(),
        "window_end": run.window_end.isoformat(),
    }


def _decode_run(item: dict[str, Any]) -> Run:
    return Run(
        by=item["slot"],
        computed_at=datetime.fromisoformat(item["computed_at"]),
        window_start=datetime.fromisoformat(item["window_start"]),
        window_end=datetime.fromisoformat(item["window_end"]),
    )
