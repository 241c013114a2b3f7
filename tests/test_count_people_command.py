import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.helpers import IMAGES, make_camera
from tests.test_counting import LEFT, RIGHT
from zones.models import Zone


def run(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("count_people", *args, stdout=out, stderr=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_prints_one_line_per_image(db):
    rows = run(str(IMAGES / "person.jpg"), str(IMAGES / "coffee.png"))

    assert rows == [
        {"image": str(IMAGES / "person.jpg"), "people": 1, "zones": {}},
        {"image": str(IMAGES / "coffee.png"), "people": 0, "zones": {}},
    ]


def test_it_counts_in_the_zones_of_a_camera(db):
    camera, _ = make_camera("walkway")
    Zone.objects.create(camera=camera, name="West", polygon=LEFT)
    Zone.objects.create(camera=camera, name="East", polygon=RIGHT)

    [row] = run(str(IMAGES / "vtest_300.jpg"), "--camera", "walkway")

    assert row["people"] == 6
    assert row["zones"] == {"West": 4, "East": 2}


def test_it_exits_with_status_2_on_an_unreadable_file(db, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command(
            "count_people", str(text), str(IMAGES / "dog.jpg"), stdout=out, stderr=err
        )

    assert caught.value.returncode == 2
    assert "notes.jpg: cannot read the image" in err.getvalue()
    # The readable image is still counted.
    assert json.loads(out.getvalue())["people"] == 0


def test_it_exits_with_status_2_on_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError) as caught:
        run(str(tmp_path / "missing.jpg"))

    assert caught.value.returncode == 2


def test_it_refuses_an_unknown_camera(db):
    with pytest.raises(CommandError, match="no camera 'nowhere'"):
        run(str(IMAGES / "dog.jpg"), "--camera", "nowhere")
