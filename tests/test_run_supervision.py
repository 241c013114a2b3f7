"""`manage.py run` keeps the service up: a part that dies is started again.

The service runs as real processes on free ports, with a data folder of
its own; the parts are found among run's children by their command line.
"""

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import psutil
import pytest
import requests

from pipeline.management.commands.run import (
    FAILURE_LIMIT,
    RESTART_CAP,
    RESTART_FIRST,
    restart_delay,
)
from tests.helpers import IMAGES
from tests.process_helpers import ROOT, answers, free_port, manage, wait_for

ZONE = """
from devices.models import Camera
from zones.models import Zone
Zone.objects.create(camera=Camera.objects.get(pk="lobby"), name="Everywhere",
                    polygon=[[0, 0], [1, 0], [1, 1], [0, 1]])
"""


class Run:
    """`manage.py run --no-demo` in a data folder of its own."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.data = folder / "data"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "run.log"
        self.env = {
            **os.environ,
            "OCCUPANCY_DATA_DIR": str(self.data),
            "WORKER_POLL_SECONDS": "0.2",
            "MQTT_BROKER_BIND": f"127.0.0.1:{free_port()}",
            "DETECT_EVERY": "1",
            "SMOOTHING_WINDOW": "1",
        }
        self.env.pop("MQTT_URL", None)
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "run", "--no-demo"]
                + ["--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()

    def child(self, command: str) -> psutil.Process | None:
        """The running child whose manage.py command is the one named."""
        for child in self.children():
            try:
                if command in child.cmdline()[2:3]:
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    def answers(self) -> bool:
        return answers(f"{self.url}/api/v1/health")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


@pytest.fixture
def service(tmp_path):
    run = Run(tmp_path)
    run.manage("migrate", "--verbosity", "0")
    yield run
    if run.process is not None and run.process.poll() is None:
        run.process.kill()
        run.process.wait(10)


def upload(run: Run, token: str, frame: str) -> str:
    captured_at = datetime.now(UTC) - timedelta(seconds=5)
    response = requests.post(
        f"{run.url}/api/v1/uploads/",
        headers={"Authorization": f"Token {token}"},
        files={"image": (frame, (IMAGES / frame).read_bytes(), "image/jpeg")},
        data={"captured_at": captured_at.isoformat()},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["image_id"]


def counted(run: Run) -> list[str]:
    lake = run.data / "data-lake"
    return [
        json.loads(line)["image_id"]
        for path in lake.rglob("*.jsonl")
        for line in path.read_text().splitlines()
    ]


def images_left(run: Run) -> list[Path]:
    folders = ["image-cache", "processed-images"]
    return [path for folder in folders for path in (run.data / folder).rglob("*.jpg")]


def test_the_pause_before_a_restart_doubles_up_to_a_cap():
    delays = [restart_delay(exits) for exits in range(1, FAILURE_LIMIT + 3)]

    assert delays[0] == RESTART_FIRST
    assert delays == sorted(delays)
    assert delays[1] == 2 * delays[0]
    assert max(delays) == RESTART_CAP


@pytest.mark.e2e
def test_a_killed_worker_is_started_again_and_counts_the_next_snapshot(service):
    token = service.manage("create_camera", "lobby", "--interval", "60")
    service.manage("shell", "-c", ZONE)
    service.start()
    wait_for(service.answers, what="the web server")
    first = upload(service, token, "vtest_000.jpg")
    wait_for(lambda: first in counted(service), what="the first count")
    worker = wait_for(lambda: service.child("worker"), what="the worker")

    worker.send_signal(signal.SIGKILL)
    wait_for(partial(_replaced, service, "worker", worker), what="a new worker")
    again = service.child("worker")
    second = upload(service, token, "vtest_150.jpg")

    wait_for(lambda: second in counted(service), what="the second count")
    assert sorted(counted(service)) == sorted([first, second])
    wait_for(lambda: not images_left(service), what="the images to be deleted")
    log = service.output()
    assert "The worker was killed by SIGKILL; starting it again in" in log
    assert f"Restarted the worker (process {again.pid})" in log
    children = service.children()
    assert service.stop() == 0
    assert not any(child.is_running() for child in children)


@pytest.mark.e2e
def test_a_killed_web_server_comes_back(service):
    service.start()
    wait_for(service.answers, what="the web server")
    server = wait_for(lambda: service.child("serve"), what="the web server")

    server.send_signal(signal.SIGKILL)
    wait_for(partial(_replaced, service, "serve", server), what="a new web server")

    wait_for(service.answers, what="the restarted web server")
    assert "The web server was killed by SIGKILL" in service.output()
    assert service.stop() == 0


@pytest.mark.e2e
def test_a_killed_broker_comes_back_and_takes_commands_again(service):
    service.manage("create_camera", "lobby")
    service.env["DEMO_ADMIN_PASSWORD"] = "a long password"
    service.start()
    wait_for(service.answers, what="the web server")
    server = service.child("serve")
    broker = wait_for(lambda: service.child("mqtt_broker"), what="the broker")
    wait_for(partial(capture, service), what="a first command")

    broker.send_signal(signal.SIGKILL)
    wait_for(partial(_replaced, service, "mqtt_broker", broker), what="a new broker")

    wait_for(partial(capture, service), what="a command after the restart")
    assert service.child("serve").pid == server.pid
    log = service.output()
    assert "The MQTT broker was killed by SIGKILL" in log
    assert "Restarted the MQTT broker" in log
    assert service.stop() == 0


def capture(run: Run) -> bool:
    """Whether a staff request for a control image went through."""
    response = requests.post(
        f"{run.url}/api/v1/cameras/capture",
        json={"cameras": ["lobby"]},
        auth=("admin", run.env["DEMO_ADMIN_PASSWORD"]),
        timeout=15,
    )
    assert response.status_code in (200, 503), response.text
    return response.status_code == 200


def _replaced(run: Run, command: str, old: psutil.Process) -> bool:
    new = run.child(command)
    return new is not None and new.pid != old.pid


@pytest.mark.e2e
def test_a_part_that_keeps_dying_stops_everything_with_a_reason(tmp_path):
    # Another program holds the web port, so the web server cannot start.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = Run(tmp_path, port=taken.getsockname()[1])
        run.manage("migrate", "--verbosity", "0")
        run.start()
        worker = wait_for(lambda: run.child("worker"), what="the worker")

        status = run.process.wait(timeout=120)

    log = run.output()
    assert status != 0
    assert f"The web server exited {FAILURE_LIMIT} times within 60 s" in log
    assert "Stopped everything." in log
    assert log.count("Restarted the web server") == FAILURE_LIMIT - 1
    assert not worker.is_running()


@pytest.mark.e2e
def test_a_terminated_run_stops_every_part(service):
    service.start()
    wait_for(service.answers, what="the web server")
    wait_for(lambda: len(service.children()) == 4, what="every part")
    children = service.children()

    service.process.terminate()

    assert service.process.wait(timeout=60) == 0
    assert not any(child.is_running() for child in children)
    assert "Restarted" not in service.output()
