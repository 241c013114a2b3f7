"""The two engines that run the history query.

DuckDB reads the local data lake's JSON lines files in this process;
Athena reads the same layout in S3 through the Glue table. Both return
the same QueryRow list for the same records.
"""

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from analytics.query import COLUMNS, QueryRow, Window, history_query

# The data lake's prefix, as pipeline.datalake writes it.
PREFIX = "occupancy"
# The fields the query reads, and the partition in a file's path.
FIELDS = "['$.zone_id', '$.people', '$.captured_at']"
PARTITION = r"'dt=(\d{4}-\d{2}-\d{2})/[^/]*$'"
_INTEGERS = {"weekday", "hour", "samples"}


class QueryFailed(Exception):
    """The engine could not answer; the reason is in the message."""


class Engine(Protocol):
    name: str

    def run(self, window: Window) -> list[QueryRow]: ...


class DuckDBEngine:
    """The query over the local data lake folder, in process."""

    name = "duckdb"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def sources(self, window: Window) -> list[str]:
        """A file pattern per partition of the window that holds records.

        Naming the partitions keeps DuckDB from listing the whole lake; the
        query's own dt condition then reads as it does on Athena.
        """
        patterns = []
        for day in window.partitions():
            folder = self.root / PREFIX / f"dt={day.isoformat()}"
            if folder.is_dir() and any(folder.glob("*.jsonl")):
                patterns.append(str(folder / "*.jsonl"))
        return patterns

    def run(self, window: Window) -> list[QueryRow]:
        import duckdb  # installed for local use only, not on AWS

        patterns = self.sources(window)
        if not patterns:
            return []
        sql = history_query(window, "duckdb", _read_lines(patterns))
        try:
            with duckdb.connect() as connection:
                # Only the output of AT TIME ZONE matters, but a fixed
                # session zone keeps every other conversion predictable.
                connection.execute("SET TimeZone = 'UTC'")
                connection.execute("SET enable_progress_bar = false")
                # The query's conditions use each parsed field several
                # times; pushed below the parsing, every use would parse the
                # line again (measured: three times the work).
                connection.execute("SET disabled_optimizers = 'filter_pushdown'")
                cursor = connection.execute(sql)
                names = [column[0] for column in cursor.description]
                records = cursor.fetchall()
        except duckdb.Error as error:
            raise QueryFailed(f"DuckDB: {error}") from error
        return [_row(dict(zip(names, record, strict=True))) for record in records]


# The records of the files as a table of zone_id, people, captured_at and
# dt, typed as in the Glue table. Each file is read whole and its lines
# parsed here: DuckDB's JSON file reader sets up so much per file that over
# the data lake's many small objects it is several times slower. A line
# that is not a JSON object with these fields gives NULLs, which the query
# counts as unreadable; so does a file that is not UTF-8, as one line.
READ_LINES = """(
    SELECT
        TRY_CAST(fields[1] AS BIGINT) AS zone_id,
        TRY_CAST(fields[2] AS INTEGER) AS people,
        fields[3] AS captured_at,
        dt
    FROM (
        SELECT
            dt,
            CASE
                WHEN json_valid(line) THEN json_extract_string(line, {fields})
            END AS fields
        FROM (
            SELECT
                CAST(regexp_extract(filename, {partition}, 1) AS DATE) AS dt,
                unnest(string_split(
                    coalesce(try(decode(content)), '?'), chr(10)
                )) AS line
            FROM read_blob([{files}])
        )
        WHERE line <> ''
    )
)"""


def _read_lines(patterns: Sequence[str]) -> str:
    files = ", ".join(_string(pattern) for pattern in patterns)
    return READ_LINES.format(files=files, fields=FIELDS, partition=PARTITION)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class AthenaEngine:
    """The query on Athena over the Glue table of the S3 data lake."""

    name = "athena"
    FINAL_STATES = {"SUCCEEDED", "FAILED", "CANCELLED"}

    def __init__(
        self,
        client: Any,
        database: str,
        table: str,
        workgroup: str,
        output_location: str,
        timeout: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.database = database
        self.table = table
        self.workgroup = workgroup
        self.output_location = output_location
        self.timeout = timeout
        self.sleep = sleep

    def run(self, window: Window) -> list[QueryRow]:
        source = f"{_identifier(self.database)}.{_identifier(self.table)}"
        sql = history_query(window, "athena", source)
        try:
            execution_id = self.client.start_query_execution(
                QueryString=sql,
                QueryExecutionContext={"Database": self.database},
                WorkGroup=self.workgroup,
                ResultConfiguration={"OutputLocation": self.output_location},
            )["QueryExecutionId"]
            self.wait(execution_id)
            return [_row(record) for record in self.results(execution_id)]
        except (BotoCoreError, ClientError) as error:
            raise QueryFailed(f"Athena: {error}") from error

    def wait(self, execution_id: str) -> None:
        """Poll until the query ends; raise QueryFailed unless it succeeded.

        The pause grows from a quarter second to five seconds: most history
        queries end within seconds, and a slow one is not polled hard.
        """
        deadline = time.monotonic() + self.timeout
        pause = 0.25
        while True:
            status = self.client.get_query_execution(QueryExecutionId=execution_id)
            state = status["QueryExecution"]["Status"]
            if state["State"] == "SUCCEEDED":
                return
            if state["State"] in self.FINAL_STATES:
                reason = state.get("StateChangeReason") or "no reason given"
                raise QueryFailed(f"Athena query {state['State']}: {reason}")
            if time.monotonic() > deadline:
                self.client.stop_query_execution(QueryExecutionId=execution_id)
                raise QueryFailed(f"Athena query still running after {self.timeout}s")
            self.sleep(pause)
            pause = min(pause * 2, 5.0)

    def results(self, execution_id: str) -> Iterable[dict[str, Any]]:
        """Each result row as a dict of column name to text or None."""
        pages = self.client.get_paginator("get_query_results").paginate(
            QueryExecutionId=execution_id
        )
        names: list[str] | None = None
        for page in pages:
            for row in page["ResultSet"]["Rows"]:
                values = [cell.get("VarCharValue") for cell in row["Data"]]
                if names is None:
                    names = _header(values)  # Athena's first row names them
                    continue
                yield dict(zip(names, values, strict=True))


def _header(values: list[Any]) -> list[str]:
    if tuple(values) != COLUMNS:
        raise QueryFailed(f"Athena returned the columns {values}, not {COLUMNS}")
    return list(values)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _row(record: dict[str, Any]) -> QueryRow:
    """A result row with numbers as numbers, whichever engine gave it."""
    values: dict[str, Any] = {}
    for name in COLUMNS:
        value = record.get(name)
        if value is None or name == "scope":
            values[name] = value
        elif name in _INTEGERS:
            values[name] = int(value)
        else:
            values[name] = float(value)
    return QueryRow(**values)
