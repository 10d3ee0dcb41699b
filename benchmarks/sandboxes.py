"""``make bench-sandboxes``: what a sandbox costs on a real mock-server, on loopback.

1. Creating one: ``POST /__mock__/sandboxes`` (a name, credentials for every fixture
   organization), one after another on one keep-alive connection: the median and p99
   of the round trip, client included.
2. Memory: ``--count`` sandboxes (default 10,000), each made by ``X-Mock-Sandbox`` on
   a ``POST /billing`` with a price, whose session is then paid: the server's RSS
   before and after, and per sandbox.

    python benchmarks/sandboxes.py [--creates 2000] [--count 10000] [--state URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

TARGET_CREATE_MS = 1.0
TARGET_MIB = 100.0
BODY = json.dumps(
    {
        "messagePriceId": "price_message_growth",
        "successUrl": "http://localhost:3000/ok?session_id={CHECKOUT_SESSION_ID}",
        "cancelUrl": "http://localhost:3000/cancel",
    }
)


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def ask(connection: http.client.HTTPConnection, method: str, path: str, **kwargs: object) -> tuple[int, bytes]:
    connection.request(method, path, **kwargs)  # type: ignore[arg-type]
    answer = connection.getresponse()
    return answer.status, answer.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--creates", type=int, default=2000, help="sandboxes made to time creation (default 2000)")
    parser.add_argument("--count", type=int, default=10_000, help="sandboxes with a paid checkout (default 10,000)")
    parser.add_argument("--state", default="memory", help="--state of the mock (default memory)")
    args = parser.parse_args(argv)
    mock = str(Path(sys.executable).parent / "mock-server")
    most = str(args.creates + args.count + 200 + 10)  # the warm-up's too
    command = [mock, "--port", "0", "--state", args.state, "--max-sandboxes", most, "--log-format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        banner = ""
        while "Ctrl-C" not in banner:
            line = process.stdout.readline()
            if not line:
                raise SystemExit("mock-server did not start")
            banner += line
        found = re.search(r"listening on (http://\S+)", banner)
        assert found
        base = urlsplit(found.group(1))
        connection = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port, timeout=30)
        json_headers = {"Content-Type": "application/json"}
        for number in range(200):  # warm-up
            ask(
                connection,
                "POST",
                "/__mock__/sandboxes",
                body=json.dumps({"name": f"warm-{number}"}),
                headers=json_headers,
            )
        times = []
        for number in range(args.creates):
            started = time.perf_counter()
            status, _ = ask(
                connection,
                "POST",
                "/__mock__/sandboxes",
                body=json.dumps({"name": f"made-{number}"}),
                headers=json_headers,
            )
            times.append((time.perf_counter() - started) * 1000)
            assert status == 201, status
        times.sort()
        median, p99 = statistics.median(times), times[int(len(times) * 0.99)]

        before = rss_mib(process.pid)
        started = time.perf_counter()
        for number in range(args.count):
            headers = {**json_headers, "Authorization": "Bearer sk_test_free_org", "X-Mock-Sandbox": f"paid-{number}"}
            status, body = ask(connection, "POST", "/billing", body=BODY, headers=headers)
            assert status == 200, body[:300]
            path = urlsplit(json.loads(body)["url"])
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            status, _ = ask(connection, "POST", f"{path.path}?{path.query}", body="action=pay", headers=form)
            assert status == 303, status
        spent = time.perf_counter() - started
        after = rss_mib(process.pid)
        grown = after - before
        print(f"state {args.state}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
        print("| measure | value | target | met |")
        print("| --- | ---: | ---: | --- |")
        print(
            f"| create a sandbox (POST /__mock__/sandboxes), median of {args.creates} | {median:.3f} ms "
            f"| < {TARGET_CREATE_MS:g} ms | {'yes' if median < TARGET_CREATE_MS else 'NO'} |"
        )
        print(f"| create a sandbox, p99 | {p99:.3f} ms | | |")
        print(
            f"| RSS added by {args.count:,} sandboxes with one paid checkout each | {grown:.1f} MiB "
            f"({grown * 1024 / args.count:.1f} KiB each; {before:.0f} -> {after:.0f}) "
            f"| <= {TARGET_MIB:g} MiB | {'yes' if grown <= TARGET_MIB else 'NO'} |"
        )
        print(f"| those {args.count:,} journeys (POST /billing + Pay) | {spent:.1f} s | | |")
        return 0 if median < TARGET_CREATE_MS and grown <= TARGET_MIB else 1
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


if __name__ == "__main__":
    raise SystemExit(main())
