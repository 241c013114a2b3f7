"""The embedded MQTT broker that `make run` starts on this machine.

amqtt runs its own event loop in a daemon thread. It keeps retained
messages in memory only, so whoever starts it publishes the cameras'
configuration again once it is up.
"""

import asyncio
import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)


def broker_config(bind: str) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": bind}},
        # No $SYS topics and no packet logging: only what cameras need.
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                "allow_anonymous": True
            },
        },
    }


class EmbeddedBroker:
    def __init__(self, bind: str) -> None:
        self.bind = bind
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._broker: Any = None

    def start(self, timeout: float = 10.0) -> None:
        from amqtt.broker import Broker

        self._thread.start()

        async def start() -> Any:
            broker = Broker(broker_config(self.bind), loop=self._loop)
            await broker.start()
            return broker

        future = asyncio.run_coroutine_threadsafe(start(), self._loop)
        self._broker = future.result(timeout)
        logger.info("MQTT broker listening on %s", self.bind)

    def stop(self, timeout: float = 10.0) -> None:
        if self._broker is not None:
            future = asyncio.run_coroutine_threadsafe(
                self._broker.shutdown(), self._loop
            )
            future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        logger.info("MQTT broker stopped")
