"""The occupancy API under load, beside the cheapest view of the server.

    python -m bench.load     (also part of `make bench`)

The web server runs as `make run` starts it (`manage.py serve`: waitress
with its default threads) in a temporary data folder, migrated and seeded
by bench.space with 25 cameras of 4 zones, a current count in every zone
and the usual figures of every hour. wrk, written in C, keeps 50
connections busy, first on GET /api/v1/occupancy/, then on the liveness
probe GET /api/v1/health, in alternating turns that add up to 30 s each,
so that both meet the same state of this shared machine.

The reader throttle would answer 429s after 120 requests a minute, so
this server's READER_RATE is raised. A small Lua script in wrk counts
every answer that is not a 2xx and hands over wrk's socket errors and its
whole latency histogram; the turns of each URL are merged exactly, and
the run fails if any answer was not a 2xx or any socket failed.
"""

import json
import shutil
import subprocess
import sys
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.sandbox import Sandbox

CLIENTS = 50
WRK_THREADS = 2
SECONDS_PER_URL = 30
TURNS = 3
# Queued behind 49 others, a request may take seconds on a busy machine:
# wrk's own 2 s would count it as a socket error rather than a latency.
WRK_TIMEOUT = "10s"
READER_RATE = "100000/s"
URLS = {"occupancy": "/api/v1/occupancy/", "health": "/api/v1/health"}
SOCKET_ERRORS = ("connect", "read", "write", "timeout")

# Each wrk thread counts its answers outside 200-299; done() runs apart
# from them and gathers their counts, then prints wrk's results and its
# latency histogram (microseconds, count) for this process to merge.
SCRIPT = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local unexpected = 0
  for _, thread in ipairs(threads) do
    unexpected = unexpected + thread:get("unexpected")
  end
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration=%d unexpected=%d connect=%d read=%d " ..
    "write=%d timeout=%d\\n",
    summary.requests, summary.duration, unexpected, errors.connect,
    errors.read, errors.write, errors.timeout))
  for i = 1, #latency do
    local value, count = latency(i)
    io.write(string.format("LATENCY %d %d\\n", value, count))
  end
end
"""


@dataclass
class Result:
    requests: int = 0
    microseconds: int = 0
    unexpected: int = 0
    socket_errors: Counter = field(default_factory=Counter)
    latencies: Counter = field(default_factory=Counter)

    def add(self, other: "Result") -> None:
        self.requests += other.requests
        self.microseconds += other.microseconds
        self.unexpected += other.unexpected
        self.socket_errors.update(other.socket_errors)
        self.latencies.update(other.latencies)

    @property
    def rate(self) -> float:
        return self.requests / (self.microseconds / 1e6)

    def percentile_ms(self, share: float) -> float:
        """Nearest rank over the merged histogram."""
        rank = max(round(share * sum(self.latencies.values())), 1)
        seen = 0
        for value in sorted(self.latencies):
            seen += self.latencies[value]
            if seen >= rank:
                return value / 1000
        return 0.0


def load_benchmark() -> bool:
    """Print the figures; return whether every answer was a 2xx."""
    wrk = shutil.which("wrk")
    if wrk is None:
        print("\nLoad: not measured, wrk is missing (`make bench` installs it)")
        return False
    environment = {"READER_RATE": READER_RATE}
    with Sandbox("occupancy-bench-load-", environment) as sandbox:
        seeded = json.loads(sandbox.python("-m", "bench.space", "load"))
        url = sandbox.serve()
        sample = _fetch(url + URLS["occupancy"])
        script = sandbox.data_dir / "statuses.lua"
        script.write_text(SCRIPT)
        results = {name: Result() for name in URLS}
        for _ in range(TURNS):
            for name, path in URLS.items():
                seconds = SECONDS_PER_URL / TURNS
                results[name].add(run_wrk(wrk, script, url + path, seconds))
                sandbox.check("server")
    return report(seeded, sample, results)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
        return response.read()


def run_wrk(wrk: str, script: Path, url: str, seconds: float) -> Result:
    command = [
        wrk,
        f"--threads={WRK_THREADS}",
        f"--connections={CLIENTS}",
        f"--duration={seconds:g}s",
        f"--timeout={WRK_TIMEOUT}",
        "--latency",
        f"--script={script}",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed on {url}:\n{done.stderr[-2000:]}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> Result:
    result = Result()
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "LATENCY":
            value, count = rest.split()
            result.latencies[int(value)] += int(count)
        elif kind == "RESULT":
            fields = dict(pair.split("=") for pair in rest.split())
            result.requests = int(fields["requests"])
            result.microseconds = int(fields["duration"])
            result.unexpected = int(fields["unexpected"])
            for name in SOCKET_ERRORS:
                result.socket_errors[name] = int(fields[name])
    if not result.microseconds:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    return result


def report(seeded: dict, sample: bytes, results: dict[str, Result]) -> bool:
    zones = json.loads(sample)["zones"]
    usual = sum(1 for zone in zones if zone["usual"] is not None)
    print(
        f"\nLoad: GET {URLS['occupancy']} ({seeded['cameras']} cameras x "
        f"{seeded['zones'] // seeded['cameras']} zones, usual figures in "
        f"{usual} of {len(zones)} zones, {len(sample) / 1000:.0f} kB) beside "
        f"GET {URLS['health']}\n"
        f"  {CLIENTS} clients (wrk, {WRK_THREADS} threads, timeout "
        f"{WRK_TIMEOUT}), {SECONDS_PER_URL} s per URL in {TURNS} alternating "
        "turns, on `manage.py serve` (waitress, default threads); the reader "
        f"throttle raised to READER_RATE={READER_RATE} for this server"
    )
    held = True
    for name, result in results.items():
        errors = sum(result.socket_errors.values())
        held = held and result.unexpected == 0 and errors == 0
        print(
            f"  {name:9} {result.rate:8,.1f} requests/s, p50 "
            f"{result.percentile_ms(0.5):6.1f} ms, p99 "
            f"{result.percentile_ms(0.99):6.1f} ms; {result.requests:,} "
            f"requests, {result.unexpected} non-2xx, {errors} socket errors"
            + ("" if not errors else f" ({_spelled(result.socket_errors)})")
        )
    occupancy, health = results["occupancy"], results["health"]
    ratio = occupancy.rate / health.rate
    print(
        f"  occupancy / health: {ratio:.3f} of the throughput (1 in "
        f"{1 / ratio:.0f}), "
        f"{occupancy.percentile_ms(0.5) / health.percentile_ms(0.5):.1f}x "
        "the p50 and "
        f"{occupancy.percentile_ms(0.99) / health.percentile_ms(0.99):.1f}x "
        "the p99 latency"
    )
    print(
        "  every answer was a 2xx, and no socket failed"
        if held
        else "  FAILED: some answers were not 2xx, or some sockets failed"
    )
    return held


def _spelled(errors: Counter) -> str:
    return ", ".join(f"{count} {name}" for name, count in errors.items() if count)


if __name__ == "__main__":
    sys.exit(0 if load_benchmark() else 1)
