"""The camera agent's loop: snapshots in opening hours, heartbeats,
commands and configuration from the server, and a buffer for bad times.

The loop runs in one thread. MQTT messages arrive on another: a command is
checked and queued there, and run by the loop; a configuration is checked
and swapped in at once, so it takes effect at the next tick without a
restart. Time comes from an injected clock, so tests can drive the loop
without waiting.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import requests

from pi.backoff import Backoff
from pi.buffer import Buffered, SnapshotBuffer
from pi.commands import (
    CAPTURE_CONTROL_IMAGE,
    Command,
    InvalidMessage,
    SeenIds,
    decode_json,
    parse_command,
)
from pi.device_config import (
    STARTING_CONFIG,
    DeviceConfig,
    InvalidDeviceConfig,
    parse_device_config,
)
from pi.schedule import is_open
from pi.sources import Source, SourceError
from pi.state import MqttSettings
from pi.uploader import RequestRefused, Uploader, UploadRefused
from pi.version import AGENT_VERSION

logger = logging.getLogger(__name__)

# Buffered snapshots sent in one go before the loop looks at its clock
# again, so that a long backlog does not delay the next capture much.
FLUSH_BATCH = 20
PAUSE_AFTER_CRASH = 5.0


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def wait(self, event: threading.Event, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> None:
        event.wait(seconds)


class Agent:
    def __init__(
        self,
        api: Uploader,
        source: Source,
        buffer: SnapshotBuffer,
        heartbeat_seconds: int,
        topics: MqttSettings | None = None,
        config: DeviceConfig = STARTING_CONFIG,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        remember_config: Callable[[DeviceConfig], None] | None = None,
    ) -> None:
        self.api = api
        self.source = source
        self.buffer = buffer
        self.heartbeat_seconds = heartbeat_seconds
        self.config_topic = topics.config_topic if topics else None
        self.config = config
        self.clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.remember_config = remember_config
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.seen = SeenIds()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_tick: float | None = None
        self._next_heartbeat = self.clock.monotonic()
        self._retry_at = self.clock.monotonic()
        self._open: bool | None = None

    # The loop

    def start(self) -> None:
        """Ask the server for the configuration before the first tick."""
        try:
            answer = self.api.fetch_config()
        except (RequestRefused, requests.RequestException) as error:
            logger.warning(
                "Cannot fetch the configuration (%s); using version %s for now",
                error,
                self.config.version,
            )
            return
        self.apply_config(answer, "the server")

    def run(self) -> None:
        """Work until stop() is called."""
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                delay = self.step()
            except Exception:
                # Whatever went wrong, a camera that keeps trying is more
                # useful than one that has stopped.
                logger.exception("The agent's loop failed; going on")
                delay = PAUSE_AFTER_CRASH
            if not self._stopping.is_set():
                self.clock.wait(self._wake, delay)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def step(self) -> float:
        """Do what is due now; return the seconds until something is due."""
        self._run_commands()
        now = self.clock.monotonic()
        if now >= self._next_heartbeat:
            self._heartbeat(now)
        if self._last_tick is None or now >= self._next_tick():
            self._tick(now)
        if now >= self._retry_at and len(self.buffer):
            self._flush()
        return self._seconds_to_next()

    def _next_tick(self) -> float:
        # Read at every turn so that a new sampling interval counts from
        # the last snapshot, not from when the old interval would end.
        assert self._last_tick is not None
        return self._last_tick + self.config.sampling_interval

    def _seconds_to_next(self) -> float:
        now = self.clock.monotonic()
        moments = [self._next_tick(), self._next_heartbeat]
        if len(self.buffer):
            moments.append(self._retry_at)
        return max(0.0, min(moments) - now)

    # Snapshots

    def _tick(self, now: float) -> None:
        self._last_tick = now
        config = self.config
        moment = self.clock.now()
        if not self._check_open(config, moment):
            return
        try:
            jpeg = self.source.capture(config.jpeg_quality)
        except SourceError as error:
            logger.error("Taking a snapshot failed: %s", error)
            return
        if len(self.buffer) or now < self._retry_at:
            # Behind older snapshots, or the server failed moments ago:
            # keep the order of capture and wait for the backoff.
            self._keep(jpeg, moment)
            return
        self._send(jpeg, moment)

    def _check_open(self, config: DeviceConfig, moment: datetime) -> bool:
        is_now_open = is_open(config, moment)
        if is_now_open != self._open:
            local = moment.astimezone(config.time_zone).strftime("%H:%M %Z")
            if is_now_open:
                logger.info("Inside opening hours (%s): taking snapshots", local)
            else:
                logger.info("Outside opening hours (%s): no snapshots", local)
            self._open = is_now_open
        return is_now_open

    def _send(self, jpeg: bytes, captured_at: datetime) -> None:
        try:
            image_id = self.api.send(jpeg, captured_at)
        except UploadRefused as error:
            logger.warning(
                "The snapshot of %s was refused, dropped: %s",
                _stamp(captured_at),
                error,
            )
            return
        except requests.RequestException as error:
            self._server_failed(error)
            self._keep(jpeg, captured_at)
            return
        self.backoff.succeeded()
        logger.info("Uploaded the snapshot of %s as %s", _stamp(captured_at), image_id)

    def _keep(self, jpeg: bytes, captured_at: datetime) -> None:
        try:
            self.buffer.put(jpeg, captured_at)
        except OSError as error:
            logger.error(
                "Cannot buffer the snapshot of %s, dropped: %s",
                _stamp(captured_at),
                error,
            )
            return
        logger.info(
            "Buffered the snapshot of %s (%d waiting)",
            _stamp(captured_at),
            len(self.buffer),
        )

    def _flush(self) -> None:
        sent = 0
        while sent < FLUSH_BATCH and not self._stopping.is_set():
            item = self.buffer.oldest()
            if item is None:
                break
            outcome = self._send_buffered(item)
            if outcome is None:
                return
            sent += outcome
            self.buffer.remove(item)
        if sent:
            logger.info(
                "Uploaded %d buffered snapshots, %d left", sent, len(self.buffer)
            )

    def _send_buffered(self, item: Buffered) -> int | None:
        """1 when sent, 0 when dropped, None when the server failed."""
        try:
            jpeg = item.read()
        except OSError as error:
            logger.error("Cannot read %s, dropped: %s", item.path, error)
            return 0
        try:
            self.api.send(jpeg, item.captured_at)
        except UploadRefused as error:
            logger.warning(
                "The buffered snapshot of %s was refused, dropped: %s",
                _stamp(item.captured_at),
                error,
            )
            return 0
        except requests.RequestException as error:
            self._server_failed(error)
            return None
        self.backoff.succeeded()
        return 1

    def _server_failed(self, error: Exception) -> None:
        delay = self.backoff.failed()
        self._retry_at = self.clock.monotonic() + delay
        logger.warning(
            "Cannot upload (%s); keeping snapshots, next try in %.0f s", error, delay
        )

    # Heartbeats and configuration

    def _heartbeat(self, now: float) -> None:
        self._next_heartbeat = now + self.heartbeat_seconds
        try:
            answer = self.api.heartbeat(
                AGENT_VERSION, self.config.version, self.heartbeat_seconds
            )
        except RequestRefused as error:
            logger.error("The server refused the heartbeat: %s", error)
            return
        except requests.RequestException as error:
            logger.warning("Heartbeat failed: %s", error)
            return
        # The server answers again: buffered snapshots need not wait for
        # the end of the backoff.
        self._retry_at = min(self._retry_at, now)
        self.apply_config(answer, "the heartbeat")

    def apply_config(self, raw: object, origin: str) -> bool:
        """Check a configuration and apply it if it is newer than ours."""
        try:
            new = parse_device_config(raw)
        except InvalidDeviceConfig as error:
            logger.error(
                "Rejected the configuration from %s (%s); keeping version %s",
                origin,
                error,
                self.config.version,
            )
            return False
        with self._lock:
            current = self.config.version
            if current is not None and (new.version or 0) <= current:
                logger.debug("Configuration version %s is not new", new.version)
                return False
            self.config = new
            # Under the lock, so that the file never ends on an older
            # configuration than the one running.
            if self.remember_config is not None:
                self.remember_config(new)
        _log_applied(new, origin)
        self._wake.set()
        return True

    # MQTT

    def on_message(self, topic: str, payload: bytes) -> None:
        """Entry point for every MQTT message; runs on the MQTT thread."""
        if topic == self.config_topic:
            self.on_config_message(payload)
        else:
            self.on_command_message(payload)

    def on_config_message(self, payload: bytes) -> None:
        try:
            raw = decode_json(payload)
        except InvalidMessage as error:
            logger.error("Rejected a configuration message: %s", error)
            return
        self.apply_config(raw, "MQTT")

    def on_command_message(self, payload: bytes) -> None:
        try:
            command = parse_command(payload)
        except InvalidMessage as error:
            logger.warning("Ignored a command message: %s", error)
            return
        if command.name != CAPTURE_CONTROL_IMAGE:
            logger.warning(
                "Ignored unknown command %r (%s)", command.name, command.command_id
            )
            return
        with self._lock:
            first_time = self.seen.first_time(command.command_id)
        if not first_time:
            logger.info("Ignored command %s: handled already", command.command_id)
            return
        logger.info("Command received: %s (%s)", command.name, command.command_id)
        self.commands.put(command)
        self._wake.set()

    def _run_commands(self) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self._capture_control_image(command)

    def _capture_control_image(self, command: Command) -> None:
        # Whatever the opening hours: the administrator needs a picture to
        # draw zones on, and asked for it now.
        moment = self.clock.now()
        try:
            jpeg = self.source.capture(self.config.jpeg_quality)
            self.api.send_control_image(jpeg, moment)
        except SourceError as error:
            logger.error("Cannot take the control image: %s", error)
            return
        except (RequestRefused, requests.RequestException) as error:
            logger.warning("Cannot send the control image: %s", error)
            return
        logger.info("Sent a control image for command %s", command.command_id)


def _log_applied(config: DeviceConfig, origin: str) -> None:
    windows = config.as_payload()["opening_hours"]
    hours = ", ".join(f"{start}-{end}" for start, end in windows)
    logger.info(
        "Applied configuration version %s from %s: a snapshot every %d s, "
        "open %s (%s), JPEG quality %d",
        config.version,
        origin,
        config.sampling_interval,
        hours,
        config.time_zone.key,
        config.jpeg_quality,
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
