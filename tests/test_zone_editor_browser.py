"""The zone editor in a real browser: Debian's Chromium through Playwright."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model

from devices.control_images import save_control_image
from tests.helpers import image_bytes, make_camera
from tests.pipeline_helpers import process
from zones.models import Zone
from zones.selections import zone_selections

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "zone-editor.png"
PASSWORD = "a long password"


@pytest.fixture
def hall(db):
    camera, _ = make_camera("hall")
    save_control_image("hall", image_bytes("vtest_300.jpg"), datetime.now(UTC))
    return camera


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser("alice", "", PASSWORD)


def log_in(page, live_server, username, next_url):
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def open_editor(page, live_server):
    log_in(page, live_server, "alice", "/admin/devices/camera/hall/change/")
    svg = page.locator("svg.zone-editor-svg")
    # The picture has loaded once the drawing uses its size.
    page.wait_for_function(
        "document.querySelector('svg.zone-editor-svg')"
        "?.getAttribute('viewBox') === '0 0 768 576'"
    )
    # Mouse clicks go to page coordinates: the picture must be on screen.
    svg.scroll_into_view_if_needed()
    return svg


def at(svg, x, y):
    box = svg.bounding_box()
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def draw(page, svg, points, name):
    page.click("button[data-action=add]")
    for x, y in points:
        page.mouse.click(*at(svg, x, y))
    page.mouse.click(*at(svg, *points[0]))  # the first corner closes it
    page.locator("tr.zone-selected input[name$='-name']").fill(name)


def test_staff_draw_move_and_save_a_zone(page, live_server, hall, staff):
    svg = open_editor(page, live_server)
    draw(page, svg, [(0.1, 0.4), (0.5, 0.4), (0.5, 0.6), (0.1, 0.6)], "Walkway")

    # Drag the third corner down and to the right.
    page.mouse.move(*at(svg, 0.5, 0.6))
    page.mouse.down()
    page.mouse.move(*at(svg, 0.55, 0.65), steps=5)
    page.mouse.up()
    page.locator("tr.zone-selected input[name$='-capacity']").fill("12")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    zone = Zone.objects.get(camera=hall)
    assert (zone.name, zone.capacity) == ("Walkway", 12)
    expected = [(0.1, 0.4), (0.5, 0.4), (0.55, 0.65), (0.1, 0.6)]
    assert len(zone.polygon) == 4
    for (x, y), (ex, ey) in zip(zone.polygon, expected, strict=True):
        assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01
    [shape] = zone_selections().get("hall")
    assert shape.id == zone.pk and shape.polygon == tuple(map(tuple, zone.polygon))


def test_two_zones_are_drawn_and_pictured(page, live_server, hall, staff):
    svg = open_editor(page, live_server)
    draw(page, svg, [(0.01, 0.3), (0.5, 0.3), (0.5, 0.62), (0.01, 0.45)], "West path")
    draw(
        page, svg, [(0.55, 0.2), (0.99, 0.15), (0.99, 0.85), (0.55, 0.62)], "East road"
    )
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    assert set(Zone.objects.values_list("name", flat=True)) == {
        "West path",
        "East road",
    }
    # Count a snapshot so that the zones carry their current counts.
    process("hall", image_bytes("vtest_300.jpg"), datetime.now(UTC))
    page.reload()
    page.wait_for_selector("text=West path \u00b7 4")
    page.locator(".zone-editor-module").screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_crossing_polygon_shows_the_error(page, live_server, hall, staff):
    svg = open_editor(page, live_server)
    draw(page, svg, [(0.2, 0.2), (0.8, 0.8), (0.8, 0.2), (0.2, 0.8)], "Knot")
    page.click("input[name=_continue]")

    error = page.locator(".errorlist").first
    assert "must not cross" in error.inner_text()
    assert not Zone.objects.exists()


def test_the_keyboard_draws_a_zone_too(page, live_server, hall, staff):
    svg = open_editor(page, live_server)
    page.click("button[data-action=add]")
    svg.focus()
    for moves in ([], ["ArrowRight"] * 4, ["ArrowDown"] * 4, ["ArrowLeft"] * 4):
        for key in moves:
            page.keyboard.press(f"Shift+{key}")
        page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    zone = Zone.objects.get(camera=hall)
    assert zone.polygon == [[0.5, 0.5], [0.7, 0.5], [0.7, 0.7], [0.5, 0.7]]


def test_undo_takes_back_the_last_corner(page, live_server, hall, staff):
    svg = open_editor(page, live_server)
    page.click("button[data-action=add]")
    for x, y in [(0.1, 0.1), (0.4, 0.1), (0.4, 0.4), (0.9, 0.9)]:
        page.mouse.click(*at(svg, x, y))
    page.keyboard.press("Control+z")
    page.keyboard.press("Enter")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    assert len(Zone.objects.get(camera=hall).polygon) == 3


def test_viewing_the_control_image_is_logged(page, live_server, hall, staff):
    open_editor(page, live_server)

    entry = LogEntry.objects.filter(object_id="hall").first()
    assert entry is not None and "Viewed control image" in entry.change_message


def test_a_user_who_is_not_staff_is_refused(page, live_server, hall):
    get_user_model().objects.create_user("bob", "", PASSWORD)

    log_in(page, live_server, "bob", "/admin/devices/camera/hall/change/")

    assert "/admin/login/" in page.url
    assert page.locator(".errornote").is_visible()
    assert page.locator("svg.zone-editor-svg").count() == 0


def test_a_corner_and_a_zone_are_deleted(page, live_server, hall, staff):
    five = [[0.1, 0.1], [0.5, 0.1], [0.6, 0.3], [0.5, 0.5], [0.1, 0.5]]
    Zone.objects.create(camera=hall, name="Keep", polygon=five)
    Zone.objects.create(
        camera=hall, name="Drop", polygon=[[0.7, 0.7], [0.9, 0.7], [0.9, 0.9]]
    )
    svg = open_editor(page, live_server)

    page.mouse.click(*at(svg, 0.3, 0.3))  # select "Keep"
    page.mouse.click(*at(svg, 0.6, 0.3))  # its third corner
    page.keyboard.press("Delete")
    page.mouse.click(*at(svg, 0.85, 0.8))  # select "Drop"
    page.click("button[data-action=delete-zone]")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist .success")
    [zone] = Zone.objects.filter(camera=hall)
    assert zone.name == "Keep"
    assert zone.polygon == [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]
    assert [shape.name for shape in zone_selections().get("hall")] == ["Keep"]
