import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from devices.broker import EmbeddedBroker
from devices.config import config_payload, current_config
from devices.messaging import PublishFailed, send_config

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the embedded MQTT broker that cameras take commands from."

    def handle(self, *args: object, **options: object) -> None:
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        broker = EmbeddedBroker(settings.MQTT_BROKER_BIND)
        broker.start()
        try:
            send_config(config_payload(current_config()))
        except PublishFailed as error:
            logger.error("Could not publish the camera configuration: %s", error)

        stopping.wait()
        broker.stop()
