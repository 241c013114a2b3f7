"""The camera's MQTT connection: commands and configuration from the server.

MQTT 3.1.1 with a clean session, QoS 1. Locally the broker speaks plain TCP;
on AWS it is IoT Core with mutual TLS, the certificate and key coming from
the enrollment. awscrt reconnects by itself once a first connection has
succeeded; until then a thread of this class keeps trying. After a
reconnection the broker has forgotten a clean session's subscriptions, so
they are made again.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any

import awscrt.io
import awscrt.mqtt

from pi.backoff import Backoff
from pi.state import MqttSettings

logger = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
QOS = awscrt.mqtt.QoS.AT_LEAST_ONCE
OPERATION_TIMEOUT = 15.0


class DeviceChannel:
    """Subscribes to the camera's topics and hands every message on.

    on_message(topic, payload) runs on an awscrt thread: it must return
    quickly and never raise.
    """

    def __init__(
        self,
        settings: MqttSettings,
        on_message: MessageHandler,
        keep_alive_seconds: int = 60,
        reconnect_seconds: tuple[int, int] = (1, 60),
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self.on_message = on_message
        self.topics = (
            settings.commands_topic,
            settings.broadcast_topic,
            settings.config_topic,
        )
        self.backoff = backoff or Backoff(first=2.0, cap=120.0)
        # Set once connected and subscribed.
        self.connected = threading.Event()
        self._link_up = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connection = build_connection(
            settings,
            on_interrupted=self._interrupted,
            on_resumed=self._resumed,
            keep_alive_seconds=keep_alive_seconds,
            reconnect_seconds=reconnect_seconds,
        )

    def start(self) -> None:
        """Connect and subscribe in the background, retrying until it works."""
        self._thread = threading.Thread(
            target=self._connect_until_done, name="mqtt-connect", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=OPERATION_TIMEOUT + 5)
        if self._link_up:
            self._disconnect()

    def _connect_until_done(self) -> None:
        while not self._stop.is_set():
            if self._connect_once():
                self.backoff.succeeded()
                return
            self._stop.wait(self.backoff.failed())

    def _connect_once(self) -> bool:
        settings = self.settings
        try:
            self.connection.connect().result(OPERATION_TIMEOUT)
        except Exception as error:
            logger.warning(
                "Cannot connect to the MQTT broker %s:%d: %s",
                settings.host,
                settings.port,
                error,
            )
            return False
        self._link_up = True
        try:
            for topic in self.topics:
                self._subscribe(topic)
        except Exception as error:
            logger.warning("Cannot subscribe to the camera's topics: %s", error)
            self._disconnect()
            return False
        self.connected.set()
        logger.info(
            "Connected to the MQTT broker %s:%d as %s",
            settings.host,
            settings.port,
            settings.client_id,
        )
        return True

    def _subscribe(self, topic: str) -> None:
        future, _ = self.connection.subscribe(topic, QOS, self._deliver)
        future.result(OPERATION_TIMEOUT)

    def _deliver(self, topic: str, payload: bytes, **kwargs: Any) -> None:
        try:
            self.on_message(topic, payload)
        except Exception:
            logger.exception("Handling a message on %s failed", topic)

    def _disconnect(self) -> None:
        self.connected.clear()
        self._link_up = False
        try:
            self.connection.disconnect().result(OPERATION_TIMEOUT)
        except Exception as error:
            logger.warning("Disconnecting from the MQTT broker failed: %s", error)

    def _interrupted(
        self, connection: awscrt.mqtt.Connection, error: Exception, **kwargs: Any
    ) -> None:
        logger.warning("MQTT connection lost (%s); reconnecting", error)

    def _resumed(
        self,
        connection: awscrt.mqtt.Connection,
        return_code: awscrt.mqtt.ConnectReturnCode,
        session_present: bool,
        **kwargs: Any,
    ) -> None:
        logger.info("MQTT connection resumed (session present: %s)", session_present)
        if session_present:
            return
        future, _ = connection.resubscribe_existing_topics()
        future.add_done_callback(_log_resubscription)


def _log_resubscription(future: Any) -> None:
    error = future.exception()
    if error is not None:
        logger.error("Subscribing again after a reconnection failed: %s", error)
        return
    refused = [topic for topic, qos in future.result()["topics"] if qos is None]
    if refused:
        logger.error("The broker refused the subscriptions to %s", ", ".join(refused))


def build_connection(
    settings: MqttSettings,
    on_interrupted: Callable[..., None],
    on_resumed: Callable[..., None],
    keep_alive_seconds: int,
    reconnect_seconds: tuple[int, int],
) -> awscrt.mqtt.Connection:
    """An MQTT 3.1.1 connection with a clean session, TLS or not."""
    common: dict[str, Any] = {
        "client_id": settings.client_id,
        "clean_session": True,
        "on_connection_interrupted": on_interrupted,
        "on_connection_resumed": on_resumed,
        "reconnect_min_timeout_secs": reconnect_seconds[0],
        "reconnect_max_timeout_secs": reconnect_seconds[1],
        "keep_alive_secs": keep_alive_seconds,
    }
    if settings.tls:
        return _tls_connection(settings, common)
    bootstrap = awscrt.io.ClientBootstrap.get_or_create_static_default()
    # The builders of awsiot.mqtt_connection_builder all set up TLS, so a
    # plain TCP connection to a local broker is made by hand.
    client = awscrt.mqtt.Client(bootstrap, None)
    return awscrt.mqtt.Connection(
        client=client,
        host_name=settings.host,
        port=settings.port,
        disable_metrics=True,
        **common,
    )


def _tls_connection(
    settings: MqttSettings, common: dict[str, Any]
) -> awscrt.mqtt.Connection:
    from awsiot import mqtt_connection_builder

    assert settings.certificate_pem and settings.private_key
    ca = settings.ca_pem.encode() if settings.ca_pem else None
    # Without metrics the SDK leaves the CONNECT username empty instead of
    # writing its own name and version into it.
    return mqtt_connection_builder.mtls_from_bytes(
        cert_bytes=settings.certificate_pem.encode(),
        pri_key_bytes=settings.private_key.encode(),
        endpoint=settings.host,
        port=settings.port,
        ca_bytes=ca,
        enable_metrics_collection=False,
        **common,
    )
