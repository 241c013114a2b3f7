import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from devices.config import current_config
from devices.messaging import BROADCAST_COMMANDS, CONFIG_TOPIC, command_topic
from devices.models import Camera, CaptureRequest
from tests.mqtt_helpers import Listener

CONFIG = {
    "sampling_interval": 30,
    "opening_hours": [["07:00", "22:00"]],
    "time_zone": "Europe/London",
    "jpeg_quality": 80,
}


@pytest.fixture
def staff_api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_staff_ask_one_camera_for_a_control_image(lobby, staff_api, mqtt_broker):
    with Listener(mqtt_broker, [command_topic("lobby"), BROADCAST_COMMANDS]) as heard:
        response = staff_api.post(
            "/api/v1/cameras/capture", {"cameras": ["lobby"]}, format="json"
        )
        [(topic, payload, _)] = heard.wait_for(1)

    assert response.status_code == 200, response.json()
    assert topic == "occupancy/cameras/lobby/commands"
    assert payload["command"] == "capture_control_image"
    assert response.json()["sent"]["payload"] == payload
    request = CaptureRequest.objects.get()
    assert request.camera_id == "lobby" and request.command_id == payload["command_id"]


def test_staff_ask_every_camera_at_once(lobby, cafeteria, staff_api, mqtt_broker):
    with Listener(mqtt_broker, ["occupancy/cameras/+/commands"]) as heard:
        response = staff_api.post("/api/v1/cameras/capture", {}, format="json")
        messages = heard.wait_for(1)

    assert response.status_code == 200
    assert [topic for topic, _, _ in messages] == [BROADCAST_COMMANDS]
    assert CaptureRequest.objects.count() == 2


def test_an_unknown_camera_is_refused_before_anything_is_sent(
    lobby, staff_api, mqtt_broker
):
    with Listener(mqtt_broker, ["occupancy/#"]) as heard:
        response = staff_api.post(
            "/api/v1/cameras/capture", {"cameras": ["lobby", "nowhere"]}, format="json"
        )
        messages = heard.wait_for(1, timeout=1)

    assert response.status_code == 400
    assert "nowhere" in response.json()["detail"]
    assert messages == [] and not CaptureRequest.objects.exists()


def test_a_new_configuration_is_retained_for_every_camera(
    lobby, staff_api, mqtt_broker
):
    before = current_config().version

    response = staff_api.put("/api/v1/cameras/config", CONFIG, format="json")

    assert response.status_code == 200, response.json()
    # A camera that connects later still gets it: the message is retained.
    with Listener(mqtt_broker, [CONFIG_TOPIC]) as heard:
        [(topic, payload, retained)] = heard.wait_for(1)
    assert retained and topic == CONFIG_TOPIC
    assert payload == {**CONFIG, "version": before + 1}
    assert Camera.objects.get(pk="lobby").sampling_interval == 30


@pytest.mark.parametrize(
    "change, message",
    [
        ({"opening_hours": [["7:00", "22:00"]]}, "HH:MM"),
        ({"opening_hours": [["22:00", "22:00"]]}, "same time"),
        ({"opening_hours": []}, "1 to 24"),
        ({"opening_hours": "always"}, "1 to 24"),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ({"sampling_interval": 0}, "sampling_interval"),
        ({"jpeg_quality": 101}, "jpeg_quality"),
    ],
)
def test_a_bad_configuration_is_refused(staff_api, mqtt_broker, change, message):
    before = current_config().version

    response = staff_api.put(
        "/api/v1/cameras/config", {**CONFIG, **change}, format="json"
    )

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert current_config().version == before


def test_the_configuration_is_kept_when_the_broker_is_down(lobby, staff_api, settings):
    settings.MQTT_URL = "mqtt://127.0.0.1:9"  # nothing listens there
    before = current_config().version

    response = staff_api.put("/api/v1/cameras/config", CONFIG, format="json")

    assert response.status_code == 503
    assert "next heartbeat" in response.json()["detail"]
    assert current_config().version == before + 1


def test_cameras_and_visitors_cannot_command_cameras(lobby, client_for, db):
    _, token = lobby
    viewer = get_user_model().objects.create_user("viewer", password="x")
    as_viewer = APIClient()
    as_viewer.force_authenticate(viewer)

    for client in (client_for(token), client_for(), as_viewer):
        capture = client.post("/api/v1/cameras/capture", {}, format="json")
        config = client.put("/api/v1/cameras/config", CONFIG, format="json")
        assert capture.status_code in (401, 403)
        assert config.status_code in (401, 403)
    assert not CaptureRequest.objects.exists()


def test_the_admin_sends_the_configuration_form(lobby, admin_user, client, mqtt_broker):
    client.force_login(admin_user)
    form = {
        "sampling_interval": "45",
        "opening_hours": "07:00-12:00, 22:00-02:00",
        "time_zone": "Europe/Paris",
        "jpeg_quality": "70",
    }

    response = client.post("/admin/devices/camera/config/", form, follow=True)

    assert b"Sent to occupancy/cameras/all/config" in response.content
    config = current_config()
    assert config.opening_hours == [["07:00", "12:00"], ["22:00", "02:00"]]
    assert (config.sampling_interval, config.time_zone) == (45, "Europe/Paris")


def test_the_admin_shows_a_bad_opening_hours_field(admin_user, client, mqtt_broker):
    client.force_login(admin_user)
    form = {**CONFIG, "opening_hours": "seven to ten"}

    response = client.post("/admin/devices/camera/config/", form)

    assert response.status_code == 200
    assert b"HH:MM-HH:MM" in response.content


def test_the_admin_asks_all_cameras(lobby, admin_user, client, mqtt_broker):
    client.force_login(admin_user)
    with Listener(mqtt_broker, [BROADCAST_COMMANDS]) as heard:
        response = client.post("/admin/devices/camera/capture-all/", follow=True)
        messages = heard.wait_for(1)

    assert b"Sent to occupancy/cameras/all/commands" in response.content
    assert len(messages) == 1
