"""The historical data store: relational locally, DynamoDB on AWS."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from analytics.dynamo import DynamoHistoricalData
from analytics.history import (
    Figure,
    RelationalHistoricalData,
    Run,
    historical_data,
)
from occupancy_site import aws

TABLE = "history-test"
REGION = "eu-west-1"
MONDAY = datetime(2026, 3, 30, 3, 30, tzinfo=UTC)


@pytest.fixture
def dynamodb_table(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    aws.forget_clients()
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "scope", "KeyType": "HASH"},
                {"AttributeName": "slot", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "scope", "AttributeType": "S"},
                {"AttributeName": "slot", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield TABLE
    aws.forget_clients()


@pytest.fixture(params=["relational", "dynamodb"])
def store(request, db):
    if request.param == "relational":
        return RelationalHistoricalData()
    return DynamoHistoricalData(request.getfixturevalue("dynamodb_table"))


def run(by: str = "hour", at: datetime = MONDAY) -> Run:
    return Run(by, at, at - timedelta(days=7), at.replace(minute=0))


def figure(scope: str, slot: str, average: float = 1.5) -> Figure:
    return Figure(scope, slot, average, samples=12, low=0.0, high=4.0)


def test_it_keeps_figures_and_the_run_that_computed_them(store):
    store.replace(run(), [figure("space", "h09", 6.5), figure("zone:1", "h09", 4.5)])

    assert store.for_scope("space", "hour") == [figure("space", "h09", 6.5)]
    assert store.for_scope("zone:1", "hour") == [figure("zone:1", "h09", 4.5)]
    assert store.run("hour") == run()
    assert store.run("weekday_hour") is None


def test_a_refresh_replaces_every_figure_of_its_granularity(store):
    store.replace(run(), [figure("space", "h09"), figure("zone:7", "h10")])
    later = run(at=MONDAY + timedelta(days=1))

    store.replace(later, [figure("space", "h09", 2.25)])

    assert store.for_scope("space", "hour") == [figure("space", "h09", 2.25)]
    assert store.for_scope("zone:7", "hour") == []  # that zone has gone
    assert store.run("hour") == later


def test_the_other_granularity_is_left_alone(store):
    week = run("weekday_hour")
    store.replace(week, [figure("space", "d1h09", 3.0)])

    store.replace(run(), [figure("space", "h09")])
    store.replace(run(at=MONDAY + timedelta(days=1)), [])

    assert store.for_scope("space", "weekday_hour") == [figure("space", "d1h09", 3.0)]
    assert store.for_scope("space", "hour") == []
    assert store.run("weekday_hour") == week


def test_figures_come_in_slot_order(store):
    slots = ["h23", "h00", "h09", "h10"]
    store.replace(run(), [figure("space", slot) for slot in slots])

    assert [f.slot for f in store.for_scope("space", "hour")] == sorted(slots)


def test_it_reads_one_slot_of_many_scopes_at_once(store):
    scopes = ["space", *(f"zone:{number}" for number in range(1, 130))]
    store.replace(run(), [figure(scope, "h09", 1.25) for scope in scopes])

    found = store.at_slot(["space", "zone:3", "zone:129", "zone:999"], "h09")

    assert set(found) == {"space", "zone:3", "zone:129"}
    assert found["zone:129"] == figure("zone:129", "h09", 1.25)
    assert store.at_slot(["space"], "h10") == {}


def test_a_figure_of_the_wrong_granularity_is_refused(store):
    with pytest.raises(ValueError):
        store.replace(run("hour"), [figure("space", "d1h09")])

    assert store.run("hour") is None


def test_the_backend_setting_chooses_the_store(settings, dynamodb_table):
    settings.OCCUPANCY_BACKEND = "aws"
    settings.HISTORICAL_DATA_TABLE = dynamodb_table

    store = historical_data()
    store.replace(run(), [figure("space", "h09")])

    assert isinstance(store, DynamoHistoricalData)
    assert DynamoHistoricalData(dynamodb_table).run("hour") == run()
