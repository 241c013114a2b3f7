import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from devices.demo import ensure_demo_config, prepare_demo_agent

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = (
        "Run the whole service on this machine: the web server, the "
        "pipeline worker and a demo camera. Ctrl-C stops all of them."
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
        url = f"http://{options['host']}:{options['port']}"
        children = self._start(url, options)
        self.stdout.write(
            f"Occupancy is running: the dashboard at {url}/, the admin site at "
            f"{url}/admin/ and the API at {url}/api/v1/docs/ (Ctrl-C to stop)"
        )
        # Set both: a shell that starts this in the background ignores
        # SIGINT for it, and Ctrl-C must still stop everything.
        signal.signal(signal.SIGINT, _raise_interrupt)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._watch(children)
        except KeyboardInterrupt:
            self.stdout.write("Stopping...")
        finally:
            _stop(children)

    def _start(self, url: str, options: dict) -> dict[str, subprocess.Popen]:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        host, port = str(options["host"]), str(options["port"])
        children = {
            "web server": _spawn([*manage, "serve", "--host", host, "--port", port]),
            "worker": _spawn([*manage, "worker"]),
            "history scheduler": _spawn([*manage, "history_scheduler"]),
        }
        if settings.MQTT_EMBEDDED:
            children["MQTT broker"] = _spawn([*manage, "mqtt_broker"])
        if not options["no_demo"]:
            _wait_for_server(host, int(port))
            config = str(prepare_demo_agent(url))
            command = [sys.executable, "-m", "pi", "--config", config]
            children["demo camera"] = _spawn(command)
        return children

    def _watch(self, children: dict[str, subprocess.Popen]) -> None:
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(
                        f"The {name} exited with status {child.returncode}."
                    )
                    return
            time.sleep(0.5)

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


def _spawn(command: list[str], env: dict | None = None) -> subprocess.Popen:
    # A session of its own keeps the terminal's Ctrl-C away from the
    # children, so that they are stopped in order, by this process.
    return subprocess.Popen(
        command, env=env, start_new_session=True, cwd=settings.BASE_DIR
    )


def _wait_for_server(host: str, port: int, timeout: float = 30.0) -> None:
    # The demo camera's first snapshot should not meet a closed port.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)


def _stop(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt
