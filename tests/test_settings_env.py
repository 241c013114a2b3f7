import re
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
