"""The history query on Athena, under moto.

moto runs no SQL: a test queues the rows Athena would answer, in Athena's
own text form, and checks what was sent, the polling, and the parsing.
"""

import logging
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import storages
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager

from analytics.engines import AthenaEngine, DuckDBEngine, QueryFailed
from analytics.history import historical_data
from analytics.jobs import RefreshFailed, refresh_history
from analytics.query import COLUMNS, window_ending
from tests.history_helpers import NOW, TIME_ZONE, build_known_lake

REGION = "eu-west-1"
OUTPUT = "s3://history-results/queries/"
EXECUTION = "athena::execution"

# What Athena answers for the known data lake, hour by hour: doubles for
# averages, bigints for counts and sums, the input's integer type for a
# percentile, and no value at all for a NULL.
KNOWN_ANSWER = [
    ("zone:1", None, "1", "2.0", "1", "2", "2"),
    ("zone:1", None, "2", "6.0", "1", "6", "6"),
    ("zone:1", None, "3", "4.0", "1", "4", "4"),
    ("zone:1", None, "9", "4.5", "10", "0", "8"),
    ("zone:2", None, "9", "2.0", "2", "1", "3"),
    ("zone:2", None, "12", "20.0", "3", "10", "30"),
    ("space", None, "1", "2.0", "1", "2", "2"),
    ("space", None, "2", "6.0", "1", "6", "6"),
    ("space", None, "3", "4.0", "1", "4", "4"),
    ("space", None, "9", "6.5", "12", "1", "11"),
    ("space", None, "12", "20.0", "3", "10", "30"),
    ("skipped", None, None, None, "2", None, None),
]


@pytest.fixture
def athena(monkeypatch, settings):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    settings.TIME_ZONE = TIME_ZONE
    with mock_aws():
        client = boto3.client("athena", region_name=REGION)
        client.create_work_group(
            Name="occ-test",
            Configuration={"ResultConfiguration": {"OutputLocation": OUTPUT}},
        )
        yield client
    state_manager.unset_transition(EXECUTION)


def backend():
    return athena_backends[DEFAULT_ACCOUNT_ID][REGION]


def queue_answer(rows: list[tuple], columns: tuple = COLUMNS) -> None:
    """Queue rows for the next query, after the header row Athena sends."""

    def cells(values: tuple) -> dict:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    result = QueryResults(
        rows=[cells(columns), *(cells(row) for row in rows)],
        column_info=[{"Name": name, "Type": "varchar"} for name in columns],
    )
    backend().query_results_queue.append(result)


def engine(client, pauses: list | None = None, timeout: float = 60) -> AthenaEngine:
    return AthenaEngine(
        client,
        database="occ_test",
        table="occupancy",
        workgroup="occ-test",
        output_location=OUTPUT,
        timeout=timeout,
        sleep=(pauses if pauses is not None else []).append,
    )


def sent(client) -> dict:
    [execution_id] = client.list_query_executions()["QueryExecutionIds"]
    return client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]


def test_it_sends_the_query_in_athenas_dialect_over_the_window(athena):
    queue_answer(KNOWN_ANSWER)

    engine(athena).run(window_ending(NOW, "weekday_hour", 28, TIME_ZONE))

    execution = sent(athena)
    query = execution["Query"]
    assert 'FROM "occ_test"."occupancy"' in query
    assert "dt BETWEEN DATE '2026-03-05' AND DATE '2026-04-02'" in query
    assert "try(from_iso8601_timestamp(captured_at))" in query
    assert "try(from_iso8601_timestamp('2026-04-02T10:00:00Z'))" in query
    assert "AT TIME ZONE 'Europe/Berlin'" in query
    assert "day_of_week(local_time)" in query
    assert "approx_percentile(people, 0.1)" in query
    assert "approx_percentile(people, 0.9)" in query
    for duckdb_word in ("TRY_CAST", "isodow", "quantile_disc", "read_json"):
        assert duckdb_word not in query
    assert execution["QueryExecutionContext"]["Database"] == "occ_test"
    assert execution["WorkGroup"] == "occ-test"


def test_it_polls_until_the_query_succeeds_then_reads_the_rows(athena):
    # Each state lasts two looks: queued, queued, running, running, done.
    state_manager.set_transition(EXECUTION, {"progression": "manual", "times": 2})
    queue_answer(KNOWN_ANSWER)
    pauses: list[float] = []

    rows = engine(athena, pauses).run(window_ending(NOW, "hour", 7, TIME_ZONE))

    assert pauses == [0.25, 0.5, 1.0]
    assert len(rows) == len(KNOWN_ANSWER)
    nine = next(r for r in rows if r.scope == "zone:1" and r.hour == 9)
    assert (nine.weekday, nine.average, nine.samples, nine.low, nine.high) == (
        None,
        4.5,
        10,
        0.0,
        8.0,
    )


def test_duckdb_and_athena_give_the_same_rows_for_the_same_lake(athena, db):
    build_known_lake()
    window = window_ending(NOW, "hour", 7, TIME_ZONE)
    local = DuckDBEngine(storage_root())
    queue_answer(KNOWN_ANSWER)

    from_duckdb = local.run(window)
    from_athena = engine(athena).run(window)

    assert sorted(from_duckdb, key=key) == sorted(from_athena, key=key)


def test_both_engines_store_the_same_history(athena, db):
    build_known_lake()
    refresh_history("hour", now=NOW, engine=DuckDBEngine(storage_root()))
    by_duckdb = stored_history()
    queue_answer(KNOWN_ANSWER)

    result = refresh_history("hour", now=NOW, engine=engine(athena))

    assert result.skipped == 2
    assert stored_history() == by_duckdb
    assert len(by_duckdb) == 11


def test_a_failed_query_keeps_the_previous_history_and_logs_why(athena, db, caplog):
    queue_answer(KNOWN_ANSWER)
    refresh_history("hour", now=NOW, engine=engine(athena))
    before = stored_history()
    fail_next_query()
    caplog.set_level(logging.ERROR, logger="analytics.jobs")

    with pytest.raises(RefreshFailed, match="FAILED"):
        refresh_history("hour", now=NOW + timedelta(days=1), engine=engine(athena))

    assert "History by hour not refreshed, previous kept" in caplog.text
    assert "Athena query FAILED" in caplog.text
    assert stored_history() == before
    assert historical_data().run("hour").computed_at == NOW


def test_a_query_past_its_time_is_stopped(athena):
    state_manager.set_transition(EXECUTION, {"progression": "manual", "times": 99})

    with pytest.raises(QueryFailed, match="still running"):
        engine(athena, timeout=0).run(window_ending(NOW, "hour", 7, TIME_ZONE))

    assert sent(athena)["Status"]["State"] == "CANCELLED"


def test_an_answer_with_other_columns_is_refused(athena):
    queue_answer([("space", "1")], columns=("scope", "people"))

    with pytest.raises(QueryFailed, match="columns"):
        engine(athena).run(window_ending(NOW, "hour", 7, TIME_ZONE))


def storage_root() -> Path:
    return Path(storages["data_lake"].location)


def key(row) -> tuple:
    return (row.scope, row.weekday or 0, row.hour or 0)


def stored_history() -> list:
    store = historical_data()
    scopes = ("space", "zone:1", "zone:2")
    return [figure for scope in scopes for figure in store.for_scope(scope, "hour")]


def fail_next_query() -> None:
    """Make Athena's next query end FAILED, as a bad data file would."""
    original = backend().start_query_execution

    def start(*args, **kwargs):
        execution_id = original(*args, **kwargs)
        backend().executions[execution_id].status = "FAILED"
        return execution_id

    backend().start_query_execution = start
