"""The occupancy camera agent.

    python -m pi --config /etc/occupancy-agent/agent.toml

Exit status: 0 after SIGTERM or SIGINT; 2 when an operator must act (a bad
configuration, a refused enrollment, a damaged state file, picamera2 not
installed); 1 when the camera cannot be opened, or on anything unexpected,
so that the service manager starts the agent again.
"""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from pi.agent import Agent
from pi.buffer import SnapshotBuffer
from pi.config import AgentConfig, ConfigError, load_config
from pi.device_config import (
    STARTING_CONFIG,
    DeviceConfig,
    InvalidDeviceConfig,
    parse_device_config,
)
from pi.enrollment import EnrollmentRefused, obtain_state
from pi.mqtt import DeviceChannel
from pi.sources import SourceError, SourceUnusable, open_source
from pi.state import State, StateError, save_state
from pi.uploader import Uploader
from pi.version import AGENT_VERSION

logger = logging.getLogger("pi")

OPERATOR_MUST_ACT = 2
TRY_AGAIN_LATER = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pi", description="The occupancy camera agent."
    )
    parser.add_argument("--config", type=Path, required=True, help="TOML file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"occupancy agent: {error}", file=sys.stderr)
        return OPERATOR_MUST_ACT
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    stop = threading.Event()
    running: list[Agent] = []

    def request_stop(signum: int, frame: object) -> None:
        logger.info("Stopping on %s", signal.Signals(signum).name)
        stop.set()
        for agent in running:
            agent.stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        return _run(config, stop, running)
    except EnrollmentRefused as error:
        logger.error("Enrollment refused: %s", error)
    except StateError as error:
        logger.error("Unusable state file: %s", error)
    except SourceUnusable as error:
        logger.error("Cannot use the camera: %s", error)
    except SourceError as error:
        # A camera still starting or unplugged for a moment: worth another
        # try by the service manager.
        logger.error("Cannot open the camera: %s", error)
        return TRY_AGAIN_LATER
    return OPERATOR_MUST_ACT


def _run(config: AgentConfig, stop: threading.Event, running: list[Agent]) -> int:
    state = obtain_state(config, stop.wait)
    if state is None:
        return 0
    identity = state.identity
    source = open_source(config.source)
    api = Uploader(config.server_url, identity.api_token, upload=identity.upload)
    agent = Agent(
        api,
        source,
        SnapshotBuffer(config.buffer_dir, config.buffer_size),
        config.heartbeat_seconds,
        topics=identity.mqtt,
        config=_saved_config(state),
        remember_config=lambda applied: _remember(config.state_path, state, applied),
    )
    running.append(agent)
    logger.info(
        "Occupancy agent %s started as camera %s, %s source, server %s, %s uploads",
        AGENT_VERSION,
        identity.camera_id,
        config.source.kind,
        config.server_url,
        identity.upload,
    )
    channel = _open_channel(agent, state)
    try:
        if not stop.is_set():
            agent.start()
            agent.run()
    finally:
        if channel is not None:
            channel.close()
        source.close()
        api.close()
    logger.info("Occupancy agent stopped")
    return 0


def _open_channel(agent: Agent, state: State) -> DeviceChannel | None:
    settings = state.identity.mqtt
    if settings is None:
        logger.warning(
            "The server gave no MQTT details: no commands, and configuration "
            "only through heartbeats"
        )
        return None
    channel = DeviceChannel(settings, agent.on_message)
    channel.start()
    return channel


def _saved_config(state: State) -> DeviceConfig:
    if state.config is None:
        return STARTING_CONFIG
    try:
        return parse_device_config(state.config)
    except InvalidDeviceConfig as error:
        logger.warning("Ignoring the saved configuration: %s", error)
        return STARTING_CONFIG


def _remember(path: Path, state: State, applied: DeviceConfig) -> None:
    """Save the applied configuration, for a start without the server."""
    updated = State(state.identity, state.enrollment, applied.as_payload())
    try:
        save_state(path, updated)
    except OSError as error:
        logger.error("Cannot save the configuration in %s: %s", path, error)


if __name__ == "__main__":
    sys.exit(main())
