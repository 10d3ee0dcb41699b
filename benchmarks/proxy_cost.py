"""The latency ``mock-server --proxy`` adds, measured side by side with another build's, one request at a time.

    python benchmarks/proxy_cost.py [--requests 4000] [--other DIR]

It starts a mock on memory, a mock proxying to it, and with ``--other`` a second proxy run
from another checkout (``DIR`` first on ``PYTHONPATH``), then sends ``--requests`` requests of
each operation to each of them in turn, one connection each, kept alive: the servers share
whatever else the machine is doing, which ``make bench`` (one server after another) cannot
promise on a busy machine. It prints the median and 90th percentile of each, and what each
proxy adds at the median.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import OPERATIONS, free_port

MOCK = str(Path(sys.executable).parent / "mock-server")
HEADERS = {"Authorization": "Bearer sk_test_paid_org", "Content-Type": "application/json"}


def start(*flags: str, pythonpath: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": pythonpath} if pythonpath else None
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [MOCK, "--port", str(port), *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd="/"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/__mock__/health")
            return process, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"mock-server {' '.join(flags)} did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000, help="per operation and server (default 4000)")
    parser.add_argument("--other", help="another checkout, whose proxy runs beside this one")
    args = parser.parse_args()
    upstream, upstream_port = start()
    servers = {"mock": (upstream, upstream_port)}
    servers["mock --proxy"] = start("--proxy", f"http://127.0.0.1:{upstream_port}")
    if args.other:
        servers[f"mock --proxy ({args.other})"] = start(
            "--proxy", f"http://127.0.0.1:{upstream_port}", pythonpath=args.other
        )
    print(f"load average {os.getloadavg()[0]:.2f}; {args.requests} requests per operation and server, in turn")
    print("| operation | server | p50 ms | p90 ms | added at p50 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    try:
        for operation in OPERATIONS:
            connections = {name: http.client.HTTPConnection("127.0.0.1", port) for name, (_, port) in servers.items()}
            took: dict[str, list[float]] = {name: [] for name in servers}
            body = json.loads(operation.body) if operation.body else None
            for _ in range(args.requests):
                for name, connection in connections.items():
                    started = time.perf_counter()
                    connection.request(operation.method, operation.path, json.dumps(body) if body else None, HEADERS)
                    answer = connection.getresponse()
                    answer.read()
                    took[name].append((time.perf_counter() - started) * 1000)
                    if answer.status != 200:
                        raise SystemExit(f"{name} answered {answer.status} to {operation.name}")
            base = statistics.median(took["mock"])
            for name, times in took.items():
                p50, p90 = statistics.median(times), statistics.quantiles(times, n=10)[8]
                added = f"{p50 - base:.2f}" if name != "mock" else "-"
                print(f"| {operation.name} | {name} | {p50:.2f} | {p90:.2f} | {added} |", flush=True)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
