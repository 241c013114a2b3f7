import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.demo import lake_is_empty
from devices.demo import ensure_demo_config, prepare_demo_agent

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10
# A child that exits is started again after a pause that doubles with each
# exit in the last FAILURE_WINDOW seconds, up to RESTART_CAP. A child that
# keeps exiting is broken rather than unlucky: after FAILURE_LIMIT exits in
# the window everything is stopped, for an operator to look.
RESTART_FIRST = 0.5
RESTART_CAP = 8.0
FAILURE_WINDOW = 60.0
FAILURE_LIMIT = 5


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen
    exits: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class GaveUp(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Run the whole service on this machine: the web server, the "
        "pipeline worker and a demo camera. A part that exits is started "
        "again. Ctrl-C stops all of them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-demo", action="store_true", help="do not start the demo camera"
        )

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_admin()
        if not options["no_demo"]:
            ensure_demo_config()
            self._seed_demo_history()
        url = f"http://{options['host']}:{options['port']}"
        supervisor = Supervisor()
        # Set both: a shell that starts this in the background ignores
        # SIGINT for it, and Ctrl-C must still stop everything.
        signal.signal(signal.SIGINT, lambda *_: supervisor.stopping.set())
        signal.signal(signal.SIGTERM, lambda *_: supervisor.stopping.set())
        try:
            self._start(supervisor, url, options)
            self.stdout.write(
                f"Occupancy is running: the dashboard at {url}/, the admin site "
                f"at {url}/admin/ and the API at {url}/api/v1/docs/ (Ctrl-C to "
                "stop)"
            )
            supervisor.run()
        except GaveUp as error:
            raise CommandError(f"{error} Stopped everything.")
        finally:
            self.stdout.write("Stopping...")
            supervisor.stop()

    def _seed_demo_history(self) -> None:
        # A first start has no past: four weeks of plausible counts give the
        # dashboard's usual day something to show from the first minute.
        if lake_is_empty():
            call_command("generate_demo_history", days=28, stdout=self.stdout)

    def _start(self, supervisor: "Supervisor", url: str, options: dict) -> None:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        host, port = str(options["host"]), str(options["port"])
        supervisor.add("web server", [*manage, "serve", "--host", host, "--port", port])
        supervisor.add("worker", [*manage, "worker"])
        supervisor.add("history scheduler", [*manage, "history_scheduler"])
        if settings.MQTT_EMBEDDED:
            supervisor.add("MQTT broker", [*manage, "mqtt_broker"])
        if options["no_demo"]:
            return
        if not _wait_for_server(host, int(port), supervisor.stopping):
            return
        config = str(prepare_demo_agent(url))
        supervisor.add("demo camera", [sys.executable, "-m", "pi", "--config", config])

    def _ensure_admin(self) -> None:
        users = get_user_model().objects
        username = os.environ.get("DEMO_ADMIN_USERNAME") or "admin"
        if users.filter(username=username).exists():
            return
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            f"Created the administrator {username!r} with password {password!r}. "
            "It is shown only this once."
        )


class Supervisor:
    """Keeps the children running until told to stop."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        # Set from a signal handler: a child is never half started.
        self.stopping = threading.Event()

    def add(self, name: str, command: list[str]) -> None:
        if not self.stopping.is_set():
            self.children.append(Child(name, command, _spawn(command)))

    def run(self, poll_seconds: float = 0.5) -> None:
        """Start again every child that exits, until stopping is set.

        Raises GaveUp when a child keeps exiting.
        """
        while not self.stopping.wait(poll_seconds):
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is None and child.process.poll() is not None:
                    _note_exit(child, now)
                elif child.restart_at is not None and now >= child.restart_at:
                    _restart(child)

    def stop(self) -> None:
        running = [child.process for child in self.children]
        for process in running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def restart_delay(exits: int) -> float:
    """The pause before starting a child again after its nth recent exit."""
    return min(RESTART_FIRST * 2 ** max(exits - 1, 0), RESTART_CAP)


def _note_exit(child: Child, now: float) -> None:
    child.exits.append(now)
    while child.exits and now - child.exits[0] > FAILURE_WINDOW:
        child.exits.popleft()
    how = _exit_status(child.process.returncode)
    if len(child.exits) >= FAILURE_LIMIT:
        logger.error("The %s %s", child.name, how)
        raise GaveUp(
            f"The {child.name} exited {len(child.exits)} times within "
            f"{FAILURE_WINDOW:.0f} s; it needs looking at."
        )
    delay = restart_delay(len(child.exits))
    logger.error("The %s %s; starting it again in %.1f s", child.name, how, delay)
    child.restart_at = now + delay


def _restart(child: Child) -> None:
    child.restart_at = None
    child.process = _spawn(child.command)
    logger.warning(
        "Restarted the %s (process %d) after %d exit(s) in the last %.0f s",
        child.name,
        child.process.pid,
        len(child.exits),
        FAILURE_WINDOW,
    )


def _exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _spawn(command: list[str], env: dict | None = None) -> subprocess.Popen:
    # A session of its own keeps the terminal's Ctrl-C away from the
    # children, so that they are stopped in order, by this process.
    return subprocess.Popen(
        command, env=env, start_new_session=True, cwd=settings.BASE_DIR
    )


def _wait_for_server(
    host: str, port: int, stopping: threading.Event, timeout: float = 30.0
) -> bool:
    # The demo camera's first snapshot should not meet a closed port.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            stopping.wait(0.2)
    return not stopping.is_set()
