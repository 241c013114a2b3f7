"""The public dashboard in a real browser: Debian's Chromium via Playwright."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from access.models import ApiKey
from analytics.demo import DemoZone, write_demo_history
from analytics.jobs import refresh_history
from devices.health import record_contact
from pipeline.counts import ZoneCount, current_counts
from tests.helpers import WHOLE_PICTURE, make_camera
from zones.models import Zone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "dashboard.png"


@pytest.fixture
def walkway(db):
    """Two zones with a month of usual days; one counted now, one not lately."""
    camera, _ = make_camera("walkway", interval=60)
    record_contact(camera)
    west = Zone.objects.create(
        camera=camera, name="West path", polygon=WHOLE_PICTURE, capacity=15
    )
    east = Zone.objects.create(
        camera=camera, name="East road", polygon=WHOLE_PICTURE, capacity=15
    )
    now = timezone.now()
    zones = [
        DemoZone("walkway", west.pk, west.name, 15, 0.55),
        DemoZone("walkway", east.pk, east.name, 15, 0.35),
    ]
    write_demo_history(zones, end=now, days=28, interval=600, time_zone="UTC")
    refresh_history("hour")
    refresh_history("weekday_hour")
    count(west, 6, now - timedelta(seconds=20))
    count(east, 4, now - timedelta(minutes=30))  # three intervals ago and more
    return west, east


def count(zone: Zone, people: int, captured_at) -> None:
    current_counts().record(
        [
            ZoneCount(
                "walkway", zone.pk, zone.name, people, captured_at, "0" * 24, "test"
            )
        ]
    )


def open_dashboard(page, live_server):
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#space:not([hidden]) svg.popular-times")
    page.wait_for_selector(".zones [data-scope] svg.popular-times")


def test_anyone_sees_live_counts_and_the_usual_day(page, live_server, walkway):
    west, east = walkway
    page.set_viewport_size({"width": 1100, "height": 900})

    open_dashboard(page, live_server)

    west_card = page.locator(f"[data-scope='zone:{west.pk}']")
    assert west_card.locator("h2").inner_text() == "West path"
    assert west_card.locator(".people").inner_text() == "6"
    assert "of 15 people" in west_card.locator(".capacity").inner_text()
    space = page.locator("#space")
    assert space.locator(".people").inner_text() == "10"
    assert "of 30 people" in space.locator(".capacity").inner_text()
    # A month of records gives every open hour a bar; the current hour's
    # is marked, and the hours the walkway is shut have none.
    bars = space.locator("svg.popular-times g.hour")
    assert 10 <= bars.count() <= 17
    assert space.locator(".now-marker").count() == 1
    assert "Usually on" in space.locator(".chart-caption").inner_text()
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_zone_without_a_recent_count_is_shown_stale_not_empty(
    page, live_server, walkway
):
    _, east = walkway

    open_dashboard(page, live_server)

    east_card = page.locator(f"[data-scope='zone:{east.pk}']")
    assert "stale" in east_card.get_attribute("class")
    assert east_card.locator(".people").inner_text() == "4"
    assert "No recent count" in east_card.locator(".note").inner_text()
    assert east_card.locator(".compare").inner_text() == ""


def test_it_refreshes_itself_with_new_counts(page, live_server, walkway):
    west, _ = walkway
    page.clock.install()
    open_dashboard(page, live_server)

    count(west, 9, timezone.now())
    page.clock.run_for(16_000)

    card = page.locator(f"[data-scope='zone:{west.pk}'] .people")
    card.filter(has_text="9").wait_for()
    assert page.locator("#space .people").inner_text() == "13"


def test_it_reads_on_a_phone_without_sideways_scrolling(page, live_server, walkway):
    page.set_viewport_size({"width": 360, "height": 740})

    open_dashboard(page, live_server)

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    chart = page.locator("#space svg.popular-times").bounding_box()
    assert chart["width"] > 250


@pytest.fixture
def reader_key(settings):
    settings.API_KEYS_REQUIRED = True
    record = ApiKey(name="Front desk screen")
    secret = record.set_new_key()
    record.save()
    return secret


def test_with_keys_required_it_asks_for_a_key_and_keeps_it_for_the_tab(
    page, live_server, walkway, reader_key
):
    west, _ = walkway
    page.goto(f"{live_server.url}/")
    form = page.locator("form.key-form")
    form.wait_for(state="visible")

    page.fill("#api-key", "not the key")
    page.click("form.key-form button")
    page.locator(".key-prompt").filter(has_text="not accepted").wait_for()
    page.fill("#api-key", reader_key)
    page.click("form.key-form button")

    page.wait_for_selector("#space:not([hidden]) svg.popular-times")
    assert form.is_hidden()
    card = page.locator(f"[data-scope='zone:{west.pk}'] .people")
    assert card.inner_text() == "6"
    page.reload()
    page.wait_for_selector("#space:not([hidden]) svg.popular-times")
    assert form.is_hidden()


def test_a_key_in_the_link_is_taken_once_and_leaves_the_address(
    page, live_server, walkway, reader_key
):
    page.goto(f"{live_server.url}/?key={reader_key}")

    page.wait_for_selector("#space:not([hidden]) svg.popular-times")
    assert "key" not in page.url
    assert page.evaluate("sessionStorage.getItem('occupancy.apiKey')") == reader_key
    assert ApiKey.objects.get().last_used is not None
