import os
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from devices.control_images import (
    control_images_of,
    expire_control_images,
    save_control_image,
)
from devices.models import CaptureRequest
from pipeline.worker import Worker
from tests.helpers import image_bytes, stored

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def control_url(name: str) -> str:
    camera, file = name.split("/")
    return f"/admin/devices/camera/{camera}/control-images/{file}"


def test_a_camera_sends_its_control_image(lobby, client_for):
    _, token = lobby
    CaptureRequest.objects.create(camera=lobby[0])
    image = SimpleUploadedFile("c.jpg", image_bytes("vtest_000.jpg"), "image/jpeg")

    response = client_for(token).post(
        "/api/v1/control-images/", {"image": image}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    [name] = stored("control_images")
    assert response.json()["name"] == name and name.startswith("lobby/")
    assert CaptureRequest.objects.get().fulfilled_at is not None
    assert stored("image_cache") == []


def test_a_broken_control_image_is_refused(lobby, client_for):
    image = SimpleUploadedFile("c.jpg", b"GIF89a nonsense", "image/jpeg")

    response = client_for(lobby[1]).post(
        "/api/v1/control-images/", {"image": image}, format="multipart"
    )

    assert response.status_code == 400
    assert stored("control_images") == []


def test_control_images_are_listed_newest_first(lobby):
    older = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    newer = save_control_image(
        "lobby", image_bytes("vtest_150.jpg"), NOON + timedelta(hours=1)
    )
    save_control_image("cafeteria", image_bytes("vtest_300.jpg"), NOON)

    assert [image.name for image in control_images_of("lobby")] == [newer, older]


def test_staff_see_a_control_image_and_the_view_is_logged(lobby, admin_user, client):
    name = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    client.force_login(admin_user)

    response = client.get(control_url(name))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == image_bytes("vtest_000.jpg")
    entry = LogEntry.objects.get()
    assert entry.user == admin_user and entry.object_id == "lobby"
    assert name.split("/")[1] in entry.change_message


def test_a_visitor_is_sent_to_the_login_page(lobby, client):
    name = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)

    response = client.get(control_url(name))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not LogEntry.objects.exists()


def test_staff_without_camera_permission_are_refused(lobby, client):
    name = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)

    assert client.get(control_url(name)).status_code == 403

    clerk.user_permissions.add(Permission.objects.get(codename="view_camera"))
    assert client.get(control_url(name)).status_code == 200


def test_a_name_of_another_camera_or_a_path_is_not_found(lobby, admin_user, client):
    name = save_control_image("cafeteria", image_bytes("vtest_000.jpg"), NOON)
    client.force_login(admin_user)
    file = name.split("/")[1]

    assert (
        client.get(f"/admin/devices/camera/lobby/control-images/{file}").status_code
        == 404
    )
    traversal = client.get(
        "/admin/devices/camera/lobby/control-images/..%2F..%2Fsecret_key"
    )
    assert traversal.status_code in (301, 404)
    assert not LogEntry.objects.exists()


def test_staff_ask_a_camera_for_a_control_image(lobby, admin_user, client, mqtt_broker):
    client.force_login(admin_user)

    response = client.post("/admin/devices/camera/lobby/capture/")

    assert response.status_code == 302
    request = CaptureRequest.objects.get()
    assert request.camera_id == "lobby" and request.requested_by == admin_user
    page = client.get("/admin/devices/camera/lobby/change/").content.decode()
    assert "waiting for the camera" in page
    assert "There is no control image" in page


def test_the_camera_list_asks_several_cameras_at_once(
    lobby, cafeteria, admin_user, client, mqtt_broker
):
    client.force_login(admin_user)

    client.post(
        "/admin/devices/camera/",
        {
            "action": "request_control_images",
            "_selected_action": ["lobby", "cafeteria"],
        },
    )

    assert CaptureRequest.objects.count() == 2


def test_control_images_are_deleted_after_the_retention(lobby):
    old = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    fresh = save_control_image("lobby", image_bytes("vtest_150.jpg"), NOON)
    then = time.time() - 8 * 86_400
    os.utime(storages["control_images"].path(old), (then, then))

    expired = expire_control_images(timezone.now(), timedelta(days=7))

    assert expired == 1
    assert stored("control_images") == [fresh]


def test_the_worker_sweeps_old_control_images(lobby, settings):
    old = save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    then = time.time() - 3 * 86_400
    os.utime(storages["control_images"].path(old), (then, then))
    settings.CONTROL_IMAGE_RETENTION_DAYS = 2

    Worker().run_once()

    assert stored("control_images") == []


class Forms(HTMLParser):
    """The forms of a page: each one's attributes, fields and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self._open = {"attrs": attributes, "fields": {}, "submits": []}
            self.forms.append(self._open)
        elif self._open is None:
            return
        elif tag == "input" and attributes.get("type") == "hidden":
            self._open["fields"][attributes.get("name")] = attributes.get("value")
        elif _submits(tag, attributes):
            self._open["submits"].append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def _submits(tag: str, attributes: dict) -> bool:
    # A button without a type submits its form; so does an input of type
    # submit or image.
    if tag == "button":
        return attributes.get("type", "submit") == "submit"
    return tag == "input" and attributes.get("type") in ("submit", "image")


def forms_of(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def test_no_button_of_the_camera_form_sends_it_elsewhere(lobby, admin_user, client):
    client.force_login(admin_user)

    page = client.get("/admin/devices/camera/lobby/change/").content.decode()

    [change] = [f for f in forms_of(page) if f["attrs"].get("id") == "camera_form"]
    assert change["submits"], "the change form keeps its save buttons"
    for button in change["submits"]:
        assert "formaction" not in button and "formmethod" not in button
    assert "Capture a control image now" not in page.split('id="camera_form"')[1]


def test_the_capture_form_asks_the_camera_with_a_checked_token(
    lobby, admin_user, mqtt_broker
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    page = browser.get("/admin/devices/camera/lobby/change/").content.decode()
    [capture] = [
        form
        for form in forms_of(page)
        if form["attrs"].get("action") == "/admin/devices/camera/lobby/capture/"
    ]
    assert capture["attrs"]["method"] == "post" and len(capture["submits"]) == 1

    forged = browser.post(capture["attrs"]["action"])
    assert forged.status_code == 403
    response = browser.post(capture["attrs"]["action"], capture["fields"])

    assert response.status_code == 302
    assert response["Location"] == "/admin/devices/camera/lobby/change/"
    request = CaptureRequest.objects.get()
    assert request.camera_id == "lobby" and request.requested_by == admin_user


def test_a_viewer_is_offered_no_capture(lobby, client):
    viewer = get_user_model().objects.create_user("vic", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_camera"))
    client.force_login(viewer)

    page = client.get("/admin/devices/camera/lobby/change/")

    assert page.status_code == 200
    assert "Capture a control image now" not in page.content.decode()
    assert client.post("/admin/devices/camera/lobby/capture/").status_code == 403
    assert not CaptureRequest.objects.exists()


def test_capture_times_are_shown_in_the_sites_time_zone_and_named(
    lobby, admin_user, client, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    save_control_image("lobby", image_bytes("vtest_000.jpg"), NOON)
    client.force_login(admin_user)

    page = client.get("/admin/devices/camera/lobby/change/").content.decode()

    # Noon UTC in December is one in the afternoon in Paris.
    assert "captured 2026-12-03 13:00:00 CET." in page
    assert "lobby &middot; 2026-12-03 13:00:00 CET" in page
    assert "from 2026-12-03 13:00:00 CET" in page
    assert "13:00:00 UTC" not in page


def test_the_bulk_action_speaks_of_capturing(lobby, admin_user, client):
    client.force_login(admin_user)

    page = client.get("/admin/devices/camera/").content.decode()

    assert '<option value="request_control_images">Capture control images</option>' in (
        page
    )
