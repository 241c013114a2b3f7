"""Ten thousand snapshots through HTTP upload and the local pipeline.

    python -m bench.soak     (also part of `make bench`)

The web server runs as `make run` starts it (`manage.py serve`) in a
temporary data folder, with cameras of two or three zones made by
bench.space. The local worker (pipeline/worker.py) runs in a process of
its own with a detector that places people by the digest of the image
(bench.digest_worker), so that the pipeline around the detector is what
is measured. One client per camera uploads the demo frames, each with a
distinct recent capture time and a comment naming it, as a camera
numbers its frames. Then the run proves that:

- nothing was lost: every upload answered 201 has one line per zone of
  its camera in the data lake files, and the current counts hold every
  zone's newest capture;
- nothing was left behind: the image cache and processed images folders
  are empty, and the retention sweep expired nothing (no audit event, no
  warning in the worker's log);
- memory stays flat: the resident memory of the server and the worker,
  sampled every 1,000 uploads and after the pipeline drained.

The camera throttle would answer 429s past 120 snapshots a minute, so
this server's CAMERA_RATE is raised. Uploads outpace the worker on this
machine: they are held while too many snapshots wait, so that none comes
near the 90 s after which the retention sweep abandons it.
"""

import http.client
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.sandbox import ROOT, Sandbox

SNAPSHOTS = 10_000
SAMPLE_EVERY = 1_000
CAMERA_RATE = "100000/s"
# Uploads wait while this many snapshots wait for the worker, and go on
# once half of them are done.
MOST_WAITING = 300
DRAIN_TIMEOUT = 150.0
WATCH_SECONDS = 0.2
QUEUE_FOLDERS = ("image-cache", "processed-images")
FRAMES = sorted((ROOT / "demo" / "frames").glob("*.jpg"))
UPLOAD_PATH = "/api/v1/uploads/"


@dataclass(frozen=True)
class Snapshot:
    camera: str
    captured_at: str
    data: bytes


@dataclass
class Uploads:
    accepted: dict[str, Snapshot] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def done(self) -> int:
        return len(self.accepted) + len(self.refused)


def plan(cameras: list[str], snapshots: int, now: datetime) -> dict[str, list]:
    """Each camera's snapshots, one a second up to a minute ago.

    The data lake keeps capture times to the second: whole seconds keep
    every snapshot of a camera apart there too.
    """
    frames = [path.read_bytes() for path in FRAMES]
    per_camera = snapshots // len(cameras)
    first = now.replace(microsecond=0) - timedelta(seconds=per_camera + 60)
    planned: dict[str, list] = {}
    for offset, camera in enumerate(cameras):
        planned[camera] = []
        for index in range(per_camera):
            at = (first + timedelta(seconds=index)).isoformat().replace("+00:00", "Z")
            frame = frames[(index + offset * 7) % len(frames)]
            planned[camera].append(Snapshot(camera, at, _numbered(frame, at)))
    return planned


def _numbered(jpeg: bytes, text: str) -> bytes:
    """The JPEG with a comment segment right after its start marker."""
    comment = text.encode()
    return (
        jpeg[:2]
        + b"\xff\xfe"
        + (len(comment) + 2).to_bytes(2, "big")
        + comment
        + jpeg[2:]
    )


class Watch:
    """Holds uploads while too many snapshots wait, notes the longest
    wait, and samples memory every SAMPLE_EVERY uploads."""

    def __init__(self, sandbox: Sandbox, uploads: Uploads) -> None:
        self.sandbox = sandbox
        self.uploads = uploads
        self.open = threading.Event()
        self.open.set()
        self.stopping = threading.Event()
        self.failure = ""
        self.held_seconds = 0.0
        self._held_since = 0.0
        self.longest_wait = 0.0
        self.most_waiting = 0
        self.samples: list[tuple[int, int]] = []

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self._tick()
                self.stopping.wait(WATCH_SECONDS)
        except Exception as error:  # the uploaders report it
            self.failure = f"{type(error).__name__}: {error}"
        finally:
            self._release()

    def _tick(self) -> None:
        for name in ("server", "worker"):
            self.sandbox.check(name)
        while self.uploads.done >= (len(self.samples) + 1) * SAMPLE_EVERY:
            self.sample()
        ages = waiting_ages(self.sandbox.data_dir)
        self.most_waiting = max(self.most_waiting, len(ages))
        self.longest_wait = max([self.longest_wait, *ages])
        if len(ages) >= MOST_WAITING:
            self._hold()
        elif len(ages) <= MOST_WAITING // 2:
            self._release()

    def _hold(self) -> None:
        if self.open.is_set():
            self._held_since = time.monotonic()
            self.open.clear()

    def _release(self) -> None:
        if not self.open.is_set():
            self.held_seconds += time.monotonic() - self._held_since
            self.open.set()

    def sample(self) -> None:
        rss = self.sandbox.rss_kib
        self.samples.append((rss("server"), rss("worker")))


def waiting_ages(data_dir: Path) -> list[float]:
    """How long each file in the pipeline's queue folders has waited."""
    now = time.time()
    ages = []
    for folder in QUEUE_FOLDERS:
        for root, _, names in os.walk(data_dir / folder):
            for name in names:
                try:
                    ages.append(now - os.stat(os.path.join(root, name)).st_mtime)
                except FileNotFoundError:
                    continue  # a stage finished with it meanwhile
    return ages


def upload(
    port: int, token: str, snapshots: list, uploads: Uploads, watch: Watch
) -> None:
    """One camera's snapshots, one after the other on one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for snapshot in snapshots:
            watch.open.wait()
            if watch.failure:
                return
            image_id, failure = _send(connection, token, snapshot)
            with uploads.lock:
                if image_id:
                    uploads.accepted[image_id] = snapshot
                else:
                    uploads.refused.append(failure)
    finally:
        connection.close()


def _send(
    connection: http.client.HTTPConnection, token: str, snapshot: Snapshot
) -> tuple[str, str]:
    """The image id the server gave the snapshot, or what went wrong."""
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="captured_at"\r\n\r\n{snapshot.captured_at}\r\n'
        f"--{boundary}\r\nContent-Disposition: form-data; "
        'name="image"; filename="snapshot.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    )
    body = head.encode() + snapshot.data + f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    try:
        connection.request("POST", UPLOAD_PATH, body, headers)
        response = connection.getresponse()
        answer = response.read()
    except (OSError, http.client.HTTPException) as error:
        connection.close()  # the next request opens a new connection
        return "", f"{type(error).__name__}: {error}"
    if response.status != 201:
        return "", f"{response.status}: {answer[:200]!r}"
    return json.loads(answer)["image_id"], ""


def soak_benchmark(snapshots: int = SNAPSHOTS) -> bool:
    """Print the figures; return whether nothing was lost or left."""
    environment = {"CAMERA_RATE": CAMERA_RATE}
    with Sandbox("occupancy-bench-soak-", environment) as sandbox:
        cameras = json.loads(sandbox.python("-m", "bench.space", "soak"))["cameras"]
        sandbox.serve()
        sandbox.start("worker", "-m", "bench.digest_worker")
        planned = plan(list(cameras), snapshots, datetime.now(UTC))
        uploads = Uploads()
        watch = Watch(sandbox, uploads)
        uploaded, drained = push(sandbox, cameras, planned, uploads, watch)
        watch.sample()
        state = json.loads(sandbox.python("-m", "bench.space", "state"))
        left = left_behind(sandbox.data_dir)
        lake = Lake.read(sandbox.data_dir)
        warnings = sandbox.log("worker").count("unprocessed after")
    timing = {"uploaded": uploaded, "drained": drained}
    return report(cameras, uploads, watch, timing, state, left, lake, warnings)


def push(
    sandbox: Sandbox,
    cameras: dict[str, dict],
    planned: dict[str, list],
    uploads: Uploads,
    watch: Watch,
) -> tuple[float, float]:
    """Upload everything, then wait for the worker; return the seconds
    the uploads took and the seconds the pipeline took after them."""
    port = int(sandbox.url.rsplit(":", 1)[1])
    watcher = threading.Thread(target=watch.run, daemon=True)
    clients = [
        threading.Thread(
            target=upload,
            args=(port, cameras[camera]["token"], planned[camera], uploads, watch),
            daemon=True,
        )
        for camera in planned
    ]
    watcher.start()
    try:
        started = time.monotonic()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        uploaded = time.monotonic() - started
        if watch.failure:
            raise RuntimeError(f"The soak stopped: {watch.failure}")
        return uploaded, drain(sandbox)
    finally:
        # Clients still sending, after an error or Ctrl-C, stop here.
        watch.failure = watch.failure or "stopped"
        watch.stopping.set()
        watcher.join()
        watch.open.set()


def drain(sandbox: Sandbox) -> float:
    """Seconds until the queue folders are empty."""
    started = time.monotonic()
    while waiting_ages(sandbox.data_dir):
        sandbox.check("worker")
        if time.monotonic() - started > DRAIN_TIMEOUT:
            break
        time.sleep(0.1)
    return time.monotonic() - started


def left_behind(data_dir: Path) -> list[str]:
    """Every file in the queue folders, hidden ones too."""
    return [
        str(path.relative_to(data_dir))
        for folder in QUEUE_FOLDERS
        for path in (data_dir / folder).rglob("*")
        if path.is_file()
    ]


@dataclass
class Lake:
    """The data lake's lines, by image id and zone."""

    lines: dict[str, dict[int, dict]] = field(default_factory=dict)
    objects: int = 0
    records: int = 0
    repeated: int = 0
    unreadable: int = 0

    @classmethod
    def read(cls, data_dir: Path) -> "Lake":
        lake = cls()
        for path in sorted((data_dir / "data-lake").glob("occupancy/dt=*/*.jsonl")):
            lake.objects += 1
            for line in path.read_text().splitlines():
                lake._add(line)
        return lake

    def _add(self, line: str) -> None:
        try:
            record = json.loads(line)
            zones = self.lines.setdefault(record["image_id"], {})
            zone_id = int(record["zone_id"])
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
            return
        self.records += 1
        self.repeated += zone_id in zones
        zones[zone_id] = record


def lost(cameras: dict[str, dict], uploads: Uploads, lake: Lake) -> list[str]:
    """The accepted snapshots without exactly their zones' lines."""
    missing = []
    for image_id, snapshot in uploads.accepted.items():
        lines = lake.lines.get(image_id, {})
        zones = sorted(cameras[snapshot.camera]["zones"])
        if sorted(lines) != zones or any(
            line["captured_at"] != snapshot.captured_at
            or line["camera_id"] != snapshot.camera
            for line in lines.values()
        ):
            missing.append(image_id)
    return missing


def newest_held(cameras: dict[str, dict], uploads: Uploads, state: dict) -> int:
    """How many zones' current counts are their camera's newest capture."""
    newest: dict[str, dict] = {}
    for image_id, snapshot in uploads.accepted.items():
        known = newest.get(snapshot.camera)
        if known is None or snapshot.captured_at > known["captured_at"]:
            newest[snapshot.camera] = {
                "image_id": image_id,
                "captured_at": snapshot.captured_at,
            }
    return sum(
        1
        for camera, info in cameras.items()
        for zone_id in info["zones"]
        if state["counts"].get(str(zone_id)) == newest.get(camera)
    )


def report(
    cameras: dict[str, dict],
    uploads: Uploads,
    watch: Watch,
    timing: dict[str, float],
    state: dict,
    left: list[str],
    lake: Lake,
    warnings: int,
) -> bool:
    zones = sum(len(info["zones"]) for info in cameras.values())
    print(
        f"\nSoak: {uploads.done:,} snapshots (demo frames) of {len(cameras)} "
        f"cameras with {zones} zones, POSTed to {UPLOAD_PATH} of `manage.py "
        "serve` by one client per camera, counted by the local worker "
        "(pipeline/worker.py) with a digest detector in place of the model; "
        f"the camera throttle raised to CAMERA_RATE={CAMERA_RATE} for this "
        "server"
    )
    print_rates(uploads, watch, timing)
    held = check_lost(cameras, uploads, state, lake)
    held = check_left(state, left, warnings) and held
    print_memory(watch.samples)
    print_counts(lake)
    print(
        "  nothing lost, nothing left behind"
        if held
        else "  FAILED: snapshots were refused, lost or left behind"
    )
    return held


def print_rates(uploads: Uploads, watch: Watch, timing: dict[str, float]) -> None:
    accepted, seconds = len(uploads.accepted), timing["uploaded"]
    free = max(seconds - watch.held_seconds, 0.1)
    refused = f" (the first: {uploads.refused[0]})" if uploads.refused else ""
    print(
        f"  uploads: {accepted:,} answered 201 in {seconds:.1f} s, "
        f"{accepted / seconds:.1f} snapshots/s, {accepted / free:.1f} while "
        f"not held; {len(uploads.refused)} refused or failed{refused}"
    )
    print(
        f"  paced: uploads held while {MOST_WAITING} snapshots waited for the "
        f"worker, {watch.held_seconds:.0f} s in all; at most "
        f"{watch.most_waiting} waiting, the longest for "
        f"{watch.longest_wait:.1f} s (the sweep abandons them after 90 s)"
    )
    total = seconds + timing["drained"]
    print(
        f"  the pipeline drained {timing['drained']:.1f} s after the last "
        f"upload: {accepted / total:.1f} snapshots/s from the first upload "
        "to the last count"
    )


def check_lost(
    cameras: dict[str, dict], uploads: Uploads, state: dict, lake: Lake
) -> bool:
    zones = sum(len(info["zones"]) for info in cameras.values())
    missing = lost(cameras, uploads, lake)
    unknown = len(set(lake.lines) - set(uploads.accepted))
    holding = newest_held(cameras, uploads, state)
    print(
        f"  lost: {len(missing)} of {len(uploads.accepted):,} accepted "
        f"snapshots without their zone lines; {lake.records:,} lines in "
        f"{lake.objects:,} data lake objects, {lake.repeated} repeated, "
        f"{unknown} of unknown images, {lake.unreadable} unreadable; current "
        f"counts hold the newest capture in {holding} of {zones} zones"
    )
    faults = uploads.refused or missing or unknown or lake.repeated
    return not faults and not lake.unreadable and holding == zones


def check_left(state: dict, left: list[str], warnings: int) -> bool:
    expired = len(state["expired"])
    stages = sorted(state["stages"].items())
    print(
        f"  left behind: {len(left)} files in image_cache and "
        f"processed_images; {expired} expired in the audit, {warnings} "
        "expiry warnings in the worker's log; audit events: "
        + ", ".join(f"{count:,} {stage}" for stage, count in stages)
    )
    return not (left or expired or warnings)


def print_memory(samples: list[tuple[int, int]]) -> None:
    for index, name in enumerate(("server", "worker")):
        series = [sample[index] / 1024 for sample in samples]
        growth = series[-1] - series[0]
        print(
            f"  {name} memory (VmRSS, MiB) after each {SAMPLE_EVERY:,} uploads "
            f"and drained: {' '.join(f'{value:.0f}' for value in series)}; "
            f"peak {max(series):.1f}, growth {growth:+.1f} from the first "
            "sample to the last"
        )


def print_counts(lake: Lake) -> None:
    records = [line for lines in lake.lines.values() for line in lines.values()]
    if not records:
        return
    people = Counter(int(line["people"]) for line in records)
    detected = sum(1 for line in records if line.get("detected"))
    average = sum(value * count for value, count in people.items()) / len(records)
    share = detected / len(records)
    print(
        f"  counts: {min(people)} to {max(people)} people per zone, "
        f"{average:.2f} on average; {share:.0%} from the detector, "
        f"{1 - share:.0%} carried over from unchanged snapshots"
    )


if __name__ == "__main__":
    sys.exit(0 if soak_benchmark() else 1)
