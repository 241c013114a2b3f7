import re
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from occupancy_site.env import env_bool, env_choice, env_float, env_int, env_list


@pytest.mark.parametrize(
    "reader, value, message",
    [
        (lambda: env_int("X", 1), "ten", "whole number"),
        (lambda: env_int("X", 1, minimum=1), "0", "at least 1"),
        (lambda: env_int("X", 1, maximum=5), "6", "at most 5"),
        (lambda: env_float("X", 0.5), "nan", "a number"),
        (lambda: env_float("X", 0.5, maximum=1), "1.5", "at most 1"),
        (lambda: env_bool("X", False), "maybe", "true or false"),
        (lambda: env_choice("X", "a", ["a", "b"]), "c", "one of a, b"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    monkeypatch, reader, value, message
):
    monkeypatch.setenv("X", value)

    with pytest.raises(ImproperlyConfigured) as caught:
        reader()

    assert "X must" in str(caught.value) and message in str(caught.value)


def test_an_unset_or_empty_variable_gives_the_default(monkeypatch):
    monkeypatch.setenv("EMPTY", "  ")

    assert env_int("EMPTY", 7) == 7
    assert env_bool("UNSET_ANYWHERE", True) is True
    assert env_list("EMPTY", ["a"]) == ["a"]


def test_values_are_parsed(monkeypatch):
    monkeypatch.setenv("N", "42")
    monkeypatch.setenv("B", "Yes")
    monkeypatch.setenv("L", "a, b,,c")

    assert env_int("N", 0) == 42
    assert env_bool("B", False) is True
    assert env_list("L") == ["a", "b", "c"]


def test_env_example_lists_every_variable_the_service_reads():
    root = Path(__file__).resolve().parent.parent
    sources = [
        root / "occupancy_site" / "settings.py",
        *root.glob("*/management/commands/*.py"),
    ]
    read = set()
    for source in sources:
        text = source.read_text()
        read |= set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', text))
        read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', text))
    listed = set(re.findall(r"^([A-Z_]+)=", (root / ".env.example").read_text(), re.M))

    assert read - listed == set()


SETTINGS = Path(__file__).resolve().parent.parent / "occupancy_site" / "settings.py"


def read_settings(monkeypatch, tmp_path, **variables: str) -> dict:
    """Run the settings module afresh with these variables set."""
    monkeypatch.setenv("OCCUPANCY_DATA_DIR", str(tmp_path))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


@pytest.mark.parametrize(
    "variable, value",
    [
        ("TIME_ZONE", "Mars/Base"),
        ("TIME_ZONE", "../../etc/passwd"),
        ("DATABASE_URL", "nonsense://x"),
        ("DATABASE_URL", "not a url"),
        ("OCCUPANCY_DATA_DIR", "/etc/passwd"),
        ("OCCUPANCY_DATA_DIR", "/etc/passwd/occupancy"),
        ("MQTT_BROKER_BIND", "notaport"),
        ("MQTT_BROKER_BIND", "127.0.0.1:70000"),
        ("MQTT_BROKER_BIND", "127.0.0.1:"),
        ("MQTT_URL", "broker.example:1883"),
        ("MQTT_URL", "mqtt://broker.example:99999"),
        ("MQTT_PUBLIC_URL", "http://broker.example"),
        ("ATHENA_OUTPUT_LOCATION", "my-results/occupancy/"),
        ("TRUSTED_PROXIES", "-1"),
        ("TRUSTED_PROXIES", "one"),
    ],
)
def test_a_bad_setting_stops_start_up_with_a_message_naming_it(
    monkeypatch, tmp_path, variable, value
):
    with pytest.raises(ImproperlyConfigured) as caught:
        read_settings(monkeypatch, tmp_path, **{variable: value})

    assert f"{variable} must" in str(caught.value)


def test_a_refused_database_url_keeps_its_password_out_of_the_message(
    monkeypatch, tmp_path
):
    with pytest.raises(ImproperlyConfigured) as caught:
        read_settings(monkeypatch, tmp_path, DATABASE_URL="nonsense://u:hunter2@x/d")

    assert "nonsense" in str(caught.value) and "hunter2" not in str(caught.value)


def test_good_values_of_the_checked_settings_are_taken(monkeypatch, tmp_path):
    read = read_settings(
        monkeypatch,
        tmp_path / "data",
        TIME_ZONE="Europe/Paris",
        DATABASE_URL=f"sqlite:///{tmp_path / 'other.sqlite3'}",
        MQTT_BROKER_BIND="0.0.0.0:1884",
        MQTT_PUBLIC_URL="mqtts://broker.example:8883",
        ATHENA_OUTPUT_LOCATION="s3://results/occupancy/",
        TRUSTED_PROXIES="1",
    )

    assert read["TIME_ZONE"] == "Europe/Paris"
    assert read["DATABASES"]["default"]["NAME"] == str(tmp_path / "other.sqlite3")
    assert read["DATA_DIR"].is_dir() and read["STATIC_ROOT"].is_dir()
    assert read["MQTT_URL"] == "mqtt://0.0.0.0:1884"
    assert read["MQTT_PUBLIC_URL"] == "mqtts://broker.example:8883"
    assert read["REST_FRAMEWORK"]["NUM_PROXIES"] == 1
