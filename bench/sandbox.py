"""A service of its own for a benchmark, in a temporary data folder.

The web server is started as `make run` starts it (`manage.py serve`, its
default thread count) on a free port, with the environment given here on
top of this process's own. Every child is stopped, and the folder
removed, when the `with` block ends, however it ends.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10
START_TIMEOUT = 60.0
HEALTH = "/api/v1/health"


class ChildFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    def __init__(self, prefix: str, environment: dict[str, str]) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "occupancy_site.settings",
            # The product's default, whatever the calling bench uses.
            "LOG_LEVEL": "INFO",
            **environment,
            "OCCUPANCY_DATA_DIR": str(self.data_dir),
        }
        self.children: dict[str, subprocess.Popen] = {}
        self.url = ""

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def python(self, *args: str, timeout: float = 300) -> str:
        """Run a Python child to its end; return what it printed."""
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise ChildFailed(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """Start a Python child whose output goes to its log file."""
        with self.log_path(name).open("wb") as log:
            # A session of its own keeps the terminal's Ctrl-C away from
            # the child: it is stopped in order, by close().
            child = subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children[name] = child
        return child

    def serve(self) -> str:
        """Start the web server; return its URL once it answers."""
        port = free_port()
        self.start(
            "server", "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            self.check("server")
            if time.monotonic() > deadline:
                raise ChildFailed(f"The server did not answer:\n{self.log('server')}")
            time.sleep(0.2)
        return self.url

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + HEALTH, timeout=2) as response:  # noqa: S310
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def check(self, name: str) -> None:
        """Raise if the child has exited."""
        child = self.children[name]
        if child.poll() is not None:
            raise ChildFailed(
                f"The {name} exited with status {child.returncode}:\n"
                f"{self.log(name)[-3000:]}"
            )

    def rss_kib(self, name: str) -> int:
        """The child's resident memory, from the kernel's own account."""
        status = Path(f"/proc/{self.children[name].pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ChildFailed(f"No VmRSS for the {name}")

    def log_path(self, name: str) -> Path:
        return self.data_dir / f"{name}.log"

    def log(self, name: str) -> str:
        return self.log_path(name).read_text(errors="replace")

    def stop(self, name: str) -> None:
        _stop([self.children.pop(name)])

    def close(self) -> None:
        try:
            _stop(list(self.children.values()))
            self.children.clear()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _stop(children: list[subprocess.Popen]) -> None:
    # All are asked at once, then given one grace period together.
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
