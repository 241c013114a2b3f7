"""What the camera agent's tests share: a clock they move by hand, a real
HTTP server that plays the device API, and a real MQTT broker."""

import asyncio
import json
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import awscrt.io
import awscrt.mqtt
from amqtt.broker import Broker

from tests import process_helpers

# Not from tests.helpers: these helpers must load without Django.
IMAGES = Path(__file__).parent / "images"
FRAMES = ["vtest_000.jpg", "vtest_150.jpg", "vtest_300.jpg"]


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> object:
    # The agent's threads answer within milliseconds: look often.
    return process_helpers.wait_for(condition, timeout, "a condition", every=0.05)


def copy_frames(folder: Path) -> list[bytes]:
    """Put real JPEG frames in folder; return their bytes in name order."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FRAMES:
        shutil.copy(IMAGES / name, folder / name)
    return [(IMAGES / name).read_bytes() for name in sorted(FRAMES)]


class FakeClock:
    """Wall-clock and monotonic time that move only when told to."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return 5000.0 + self.elapsed

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds

    def wait(self, event: threading.Event, seconds: float) -> None:
        if not event.is_set():
            self.elapsed += seconds


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def json(self) -> object:
        return json.loads(self.body)


Body = object | Callable[[Received], object]
# A status and a body, and headers to send with them if any.
Reply = tuple[int, Body] | tuple[int, Body, dict[str, str]]


def _created_image(request: Received) -> dict[str, str]:
    return {
        "image_id": secrets.token_hex(12),
        "camera": "cam-test",
        "captured_at": request.fields.get("captured_at", ""),
    }


class DeviceServer:
    """The device side of the occupancy API, over real HTTP.

    Each route answers from a script of replies; the last reply of a
    script repeats. Every request is kept, its multipart form parsed.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.scripts: dict[tuple[str, str], list[Reply]] = {
            ("POST", "/api/v1/uploads/"): [(201, _created_image)],
            ("POST", "/api/v1/control-images/"): [(201, _created_image)],
        }
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def script(self, method: str, path: str, *replies: Reply) -> None:
        with self._lock:
            self.scripts[(method, path)] = list(replies)

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, request: Received) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests.append(request)
            replies = self.scripts.get((request.method, request.path))
            if not replies:
                return 404, b'{"detail": "Not found."}', {}
            status, body, *headers = replies.pop(0) if len(replies) > 1 else replies[0]
        if callable(body):
            body = body(request)
        return status, json.dumps(body).encode(), headers[0] if headers else {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = _parse(
                    self.command, self.path, dict(self.headers), self.rfile.read(length)
                )
                status, body, headers = server._answer(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def _parse(method: str, path: str, headers: dict[str, str], body: bytes) -> Received:
    request = Received(method, path, headers, body)
    content_type = headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        return request
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename():
            request.files[name] = payload
        else:
            request.fields[name] = payload.decode()
    return request


class EmbeddedBroker:
    """amqtt on 127.0.0.1 in its own event loop; can stop and start again."""

    def __init__(self, port: int | None = None, tls: dict | None = None) -> None:
        self.port = port or process_helpers.free_port()
        self.listener = {"type": "tcp", "bind": f"127.0.0.1:{self.port}", **(tls or {})}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.broker: Broker | None = None

    def start(self) -> None:
        async def start() -> None:
            config = {
                "listeners": {"default": self.listener},
                # Anonymous clients, and no $SYS topics.
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                        "allow_anonymous": True
                    }
                },
            }
            self.broker = Broker(config)
            await self.broker.start()

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def stop(self) -> None:
        if self.broker is not None:
            broker, self.broker = self.broker, None
            asyncio.run_coroutine_threadsafe(broker.shutdown(), self.loop).result(10)

    def client_certificates(self) -> list[dict]:
        """The certificates TLS clients presented, as ssl decodes them."""
        sessions = list(self.broker._sessions.values()) if self.broker else []
        return [
            session.ssl_object.getpeercert()
            for session, _ in sessions
            if session.ssl_object is not None
        ]

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Publisher:
    """The server's side of MQTT: publishes commands and configurations."""

    def __init__(self, port: int) -> None:
        bootstrap = awscrt.io.ClientBootstrap.get_or_create_static_default()
        self.connection = awscrt.mqtt.Connection(
            client=awscrt.mqtt.Client(bootstrap, None),
            host_name="127.0.0.1",
            port=port,
            client_id="server-" + secrets.token_hex(4),
            reconnect_min_timeout_secs=1,
            reconnect_max_timeout_secs=2,
            disable_metrics=True,
        )
        self.connection.connect().result(10)

    def publish(self, topic: str, body: object, retain: bool = False) -> None:
        future, _ = self.connection.publish(
            topic, json.dumps(body), awscrt.mqtt.QoS.AT_LEAST_ONCE, retain=retain
        )
        future.result(10)

    def close(self) -> None:
        self.connection.disconnect().result(10)
