"""GET /api/v1/history/: the usual occupancy, as JSON or CSV."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from analytics.history import historical_data
from analytics.jobs import refresh_history
from tests.helpers import WHOLE_PICTURE, make_camera
from tests.history_helpers import NOW, TIME_ZONE, build_known_lake
from zones.models import Zone

URL = "/api/v1/history/"


@pytest.fixture
def zones(db, settings):
    """The known data lake's two zones, with the ids it uses."""
    settings.TIME_ZONE = TIME_ZONE
    library, _ = make_camera("library")
    cafeteria, _ = make_camera("cafeteria")
    reading = Zone.objects.create(
        pk=1, camera=library, name="Reading room", polygon=WHOLE_PICTURE
    )
    tables = Zone.objects.create(
        pk=2, camera=cafeteria, name="Tables", polygon=WHOLE_PICTURE
    )
    build_known_lake()
    return reading, tables


@pytest.fixture
def refreshed(zones):
    refresh_history("hour", now=NOW)
    refresh_history("weekday_hour", now=NOW)
    return zones


def test_it_serves_the_space_by_hour_of_day_with_its_window(refreshed):
    response = APIClient().get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "space" and body["zone"] is None
    assert body["by"] == "hour" and body["time_zone"] == TIME_ZONE
    assert body["window"] == {
        "start": "2026-03-26T10:00:00Z",
        "end": "2026-04-02T10:00:00Z",
        "days": 7,
    }
    assert body["computed_at"] == "2026-04-02T10:20:00Z"
    assert [row["hour"] for row in body["rows"]] == [1, 2, 3, 9, 12]
    assert body["rows"][3] == {
        "hour": 9,
        "average": 6.5,
        "samples": 12,
        "low": 1.0,
        "high": 11.0,
    }
    assert len(historical_data().for_scope("space", "hour")) == 5


def test_it_serves_one_zone_by_weekday_and_hour(refreshed):
    response = APIClient().get(URL, {"zone": 1, "by": "weekday_hour"})

    assert response.status_code == 200
    body = response.json()
    assert body["scope"] == "zone:1"
    assert body["zone"] == {"id": 1, "name": "Reading room", "camera": "library"}
    assert body["window"]["days"] == 28
    friday_nine = next(
        row for row in body["rows"] if (row["weekday"], row["hour"]) == (5, 9)
    )
    assert friday_nine == {
        "weekday": 5,
        "hour": 9,
        "average": 33.67,
        "samples": 3,
        "low": 0.0,
        "high": 100.0,
    }


def test_it_serves_the_same_rows_as_csv(refreshed):
    response = APIClient().get(URL, {"zone": 2, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "occupancy-history-zone-2-hour.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["hour"], r["average"], r["samples"]) for r in rows] == [
        ("9", "2.0", "2"),
        ("12", "20.0", "3"),
    ]
    assert rows[0]["scope"] == "zone:2" and "weekday" not in rows[0]
    assert rows[0]["low"] == "1.0" and rows[0]["high"] == "3.0"
    assert rows[0]["window_start"] == "2026-03-26T10:00:00Z"
    assert rows[0]["computed_at"] == "2026-04-02T10:20:00Z"


def test_weekday_csv_has_a_weekday_column(refreshed):
    response = APIClient().get(URL, {"by": "weekday_hour", "format": "csv"})

    header = response.content.decode().splitlines()[0]
    assert header.startswith("scope,weekday,hour,average,samples,low,high")


def test_before_any_refresh_it_answers_with_no_rows(zones):
    body = APIClient().get(URL).json()

    assert body["rows"] == []
    assert body["window"] is None and body["computed_at"] is None


@pytest.mark.parametrize(
    "params, status, message",
    [
        ({"by": "minute"}, 400, "by:"),
        ({"zone": "library"}, 400, "zone:"),
        ({"zone": "0"}, 400, "zone:"),
        ({"zone": "99999999999999999999999"}, 400, "zone:"),
        ({"zone": "42"}, 404, "There is no zone 42."),
        ({"format": "xml"}, 400, "format: Use json or csv."),
    ],
)
def test_it_refuses_bad_parameters_with_a_clear_message(
    refreshed, params, status, message
):
    response = APIClient().get(URL, params)

    assert response.status_code == status
    assert message in response.json()["detail"]


def test_a_bad_parameter_in_csv_gets_the_message_as_csv(refreshed):
    response = APIClient().get(URL, {"by": "minute", "format": "csv"})

    assert response.status_code == 400
    assert response.content.decode().startswith("detail\n")


def test_it_refuses_to_be_written_to(refreshed):
    assert APIClient().post(URL, {}).status_code == 405
