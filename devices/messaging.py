"""Commands and configuration to cameras over MQTT.

The topics are the same on the local broker and on AWS IoT Core:

- `occupancy/cameras/<camera id>/commands`: commands for one camera;
- `occupancy/cameras/all/commands`: commands for every camera;
- `occupancy/cameras/all/config`: the configuration, retained.
"""

import asyncio
import json
import logging
import threading
import uuid
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from occupancy_site import aws

logger = logging.getLogger(__name__)

PREFIX = "occupancy/cameras"
BROADCAST_COMMANDS = f"{PREFIX}/all/commands"
CONFIG_TOPIC = f"{PREFIX}/all/config"
CAPTURE = "capture_control_image"


def command_topic(camera_id: str) -> str:
    return f"{PREFIX}/{camera_id}/commands"


class PublishFailed(Exception):
    pass


class Publisher(Protocol):
    # Where messages go, as the log names it.
    where: str

    def publish(self, topic: str, payload: dict[str, Any], retain: bool) -> None: ...


class Outages:
    """Logs a broker's failure once per outage, and its return.

    Every staff command meets a broker that is down; the first failure
    says so and the others are answered 503 without repeating it.
    """

    def __init__(self) -> None:
        self._down: set[str] = set()
        self._lock = threading.Lock()

    def failed(self, where: str, error: PublishFailed) -> None:
        with self._lock:
            first = where not in self._down
            self._down.add(where)
        if first:
            logger.error("Cannot send commands to cameras: %s", error)

    def answered(self, where: str) -> None:
        with self._lock:
            was_down = where in self._down
            self._down.discard(where)
        if was_down:
            logger.warning("%s answers again; commands reach cameras", where)


outages = Outages()


class LocalMqttPublisher:
    """Publishes through an MQTT broker named by MQTT_URL, at QoS 1."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.where = f"The MQTT broker at {url}"
        self.timeout = timeout

    def publish(self, topic: str, payload: dict[str, Any], retain: bool) -> None:
        try:
            asyncio.run(
                asyncio.wait_for(self._send(topic, payload, retain), self.timeout)
            )
        except (OSError, TimeoutError) as error:
            raise PublishFailed(
                f"the MQTT broker at {self.url} did not answer: {error}"
            )
        except Exception as error:
            # amqtt reports a refused connection with its own exception types.
            raise PublishFailed(f"the MQTT broker at {self.url} refused: {error}")

    async def _send(self, topic: str, payload: dict[str, Any], retain: bool) -> None:
        from amqtt.client import MQTTClient
        from amqtt.mqtt.constants import QOS_1

        client = MQTTClient(config={"auto_reconnect": False})
        await client.connect(self.url)
        try:
            body = json.dumps(payload).encode()
            await client.publish(topic, body, qos=QOS_1, retain=retain)
        finally:
            await client.disconnect()


class AwsIotPublisher:
    """Publishes through AWS IoT Core's HTTPS data plane, at QoS 1.

    IoT Core keeps a retained message for the topic, so a camera that
    subscribes later still gets the configuration.
    """

    # A staff member waits for the answer: fail after a few tries.
    ATTEMPTS = 3
    where = "AWS IoT Core"

    def publish(self, topic: str, payload: dict[str, Any], retain: bool) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        body = json.dumps(payload).encode()
        try:
            aws.client("iot-data", max_attempts=self.ATTEMPTS).publish(
                topic=topic, qos=1, retain=retain, payload=body
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "an error")
            raise PublishFailed(f"AWS IoT Core refused the message to {topic}: {code}")
        except BotoCoreError as error:
            raise PublishFailed(f"AWS IoT Core cannot be reached: {error}")


def publisher() -> Publisher:
    if settings.OCCUPANCY_BACKEND == "aws":
        return AwsIotPublisher()
    return LocalMqttPublisher(settings.MQTT_URL)


def capture_command() -> dict[str, Any]:
    return {
        "command": CAPTURE,
        "command_id": uuid.uuid4().hex,
        "issued_at": timezone.now().isoformat().replace("+00:00", "Z"),
    }


def send_capture(camera_ids: list[str] | None) -> dict[str, Any]:
    """Ask the named cameras, or all when None, for a control image.

    Returns what was sent, for the administrator to see.
    """
    command = capture_command()
    topics = (
        [BROADCAST_COMMANDS]
        if camera_ids is None
        else [command_topic(camera_id) for camera_id in camera_ids]
    )
    sender = publisher()
    for topic in topics:
        _publish(sender, topic, command, retain=False)
    logger.info(
        "Sent %s %s to %d topic(s)", CAPTURE, command["command_id"], len(topics)
    )
    return {"topics": topics, "payload": command}


def send_config(payload: dict[str, Any]) -> dict[str, Any]:
    """Publish the configuration as the retained message of all cameras."""
    _publish(publisher(), CONFIG_TOPIC, payload, retain=True)
    logger.info("Published configuration version %s", payload.get("version"))
    return {"topics": [CONFIG_TOPIC], "payload": payload}


def _publish(
    sender: Publisher, topic: str, payload: dict[str, Any], retain: bool
) -> None:
    try:
        sender.publish(topic, payload, retain)
    except PublishFailed as error:
        outages.failed(sender.where, error)
        raise
    outages.answered(sender.where)
