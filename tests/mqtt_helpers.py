"""A real MQTT broker and a listening client for tests."""

import asyncio
import json
import threading


class Listener:
    """Collects the JSON messages published on some topics, in a thread."""

    def __init__(self, url: str, topics: list[str]) -> None:
        self.url = url
        self.topics = topics
        self.messages: list[tuple[str, dict, bool]] = []
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()))

    def __enter__(self) -> "Listener":
        self._thread.start()
        assert self._ready.wait(10), "the listener could not subscribe"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_for(
        self, count: int, timeout: float = 10.0
    ) -> list[tuple[str, dict, bool]]:
        deadline = threading.Event()
        for _ in range(int(timeout * 20)):
            if len(self.messages) >= count:
                break
            deadline.wait(0.05)
        return list(self.messages)

    async def _run(self) -> None:
        from amqtt.client import MQTTClient
        from amqtt.mqtt.constants import QOS_1

        client = MQTTClient(config={"auto_reconnect": False})
        await client.connect(self.url)
        await client.subscribe([(topic, QOS_1) for topic in self.topics])
        self._ready.set()
        while not self._stop.is_set():
            try:
                message = await client.deliver_message(timeout_duration=0.1)
            except TimeoutError:
                continue
            if message is None:
                continue
            packet = message.publish_packet
            retained = bool(packet.retain_flag)
            body = json.loads(bytes(message.data).decode())
            self.messages.append((message.topic, body, retained))
        await client.disconnect()
