"""``make soak``: many ordinary requests at one mock; its memory must stay flat.

    python scripts/soak.py [--requests 200000] [--sessions 100000] [--warmup 20000]

Starts ``mock-server`` on a free loopback port and sends ``--requests`` requests over
keep-alive connections from a few threads: ``--sessions`` of them are ``POST
/billing`` with a price (each creates a checkout session), the rest ``GET
/account/organization``. The server's RSS is sampled every 10,000 requests. After
``--warmup`` requests, RSS must stay within 10% of its first sample: exit 1 if
not, or on any answer that is not 200.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz import rss_mib, start_server

HEADERS = {"Authorization": "Bearer sk_test_paid_org", "Content-Type": "application/json"}
BODY = json.dumps(
    {
        "messagePriceId": "price_message_growth",
        "successUrl": "http://localhost:3000/ok",
        "cancelUrl": "http://localhost:3000/no",
    }
)
THREADS = 4
ALLOWED_GROWTH = 0.10


def worker(
    base: str, plan: list[bool], statuses: collections.Counter[int], done: list[int], lock: threading.Lock
) -> None:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    for make_session in plan:
        if make_session:
            connection.request("POST", "/billing", body=BODY, headers=HEADERS)
        else:
            connection.request("GET", "/account/organization", headers=HEADERS)
        answer = connection.getresponse()
        answer.read()
        with lock:
            statuses[answer.status] += 1
            done[0] += 1
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=20_000)
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "mock-server.log"
    process, base = start_server(log)
    every = max(1, args.requests // args.sessions) if args.sessions else 0
    plan = [bool(every) and index % every == 0 and index // every < args.sessions for index in range(args.requests)]
    statuses: collections.Counter[int] = collections.Counter()
    done = [0]
    lock = threading.Lock()
    threads = [
        threading.Thread(target=worker, args=(base, plan[part::THREADS], statuses, done, lock), daemon=True)
        for part in range(THREADS)
    ]
    samples: list[tuple[int, float]] = []
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        next_sample = 0
        while any(thread.is_alive() for thread in threads):
            if done[0] >= next_sample:
                samples.append((done[0], rss_mib(process.pid)))
                next_sample += 10_000
            time.sleep(0.05)
        samples.append((done[0], rss_mib(process.pid)))
    finally:
        process.terminate()
        process.wait(15)
    seconds = time.monotonic() - started
    after = [rss for count, rss in samples if count >= args.warmup]
    growth = (max(after) / after[0] - 1) if after else 0.0
    print(f"requests: {done[0]} in {seconds:.0f} s ({done[0] / seconds:,.0f}/s); checkout sessions: {sum(plan)}")
    print(f"statuses: {dict(statuses)}")
    print("RSS MiB (requests: MiB): " + ", ".join(f"{count}: {rss:.1f}" for count, rss in samples))
    print(f"after {args.warmup} requests of warm-up: {after[0]:.1f} -> max {max(after):.1f} MiB ({growth:+.1%})")
    failed = growth > ALLOWED_GROWTH or set(statuses) != {200} or done[0] != args.requests
    print("flat: " + ("no" if failed else "yes") + f" (allowed +{ALLOWED_GROWTH:.0%}); server log: {log}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
