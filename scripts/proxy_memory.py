"""The memory of ``mock-server --proxy`` when the deployment sends too much: max RSS, three cases, loopback only.

    python scripts/proxy_memory.py [--mock COMMAND] [--timeout 10] [--ceiling-mib 3072]

Each case starts a fresh mock proxying to a hostile deployment (:mod:`hostile_upstream`) and sends
the calls that make it answer: one answer of 400 MiB, one chunked answer that never ends, and 8
calls at once that each get 60 MiB; the large ones once with ``Content-Length``, once chunked.
It prints, per case, the mock's RSS before, its peak (``VmHWM``), its RSS a second after the last
answer, what the calls got, and the time.
``--mock`` runs another build of the mock (``{upstream}`` is replaced by the deployment's URL),
to compare. A mock whose RSS passes ``--ceiling-mib`` is stopped there, and the case says so:
the machine is shared. Every case is bounded by the proxy's timeout plus a margin.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostile_upstream as hostile
from fuzz import start_server

MIB = 1024 * 1024
MOCK = f"{Path(sys.executable).parent / 'mock-server'} --port 0 --proxy {{upstream}}"


def rss(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def case(name: str, act: hostile.Act, calls: int, mock: str, timeout: int, ceiling: float) -> str:
    log = Path(tempfile.mkdtemp(prefix="proxy-memory-")) / "mock.log"
    with hostile.Deployment(lambda request: act) as upstream:
        command = [*shlex.split(mock.format(upstream=upstream)), "--proxy-timeout", str(timeout)]
        process, base = start_server(log, command)
        host, port = base.removeprefix("http://").split(":")
        stopped = threading.Event()
        over = []

        def watch() -> None:  # the ceiling: a shared machine is not ours to exhaust
            while not stopped.wait(0.05):
                if process.poll() is None and rss(process.pid) > ceiling:
                    over.append(rss(process.pid))
                    process.kill()
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            before = rss(process.pid)
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=calls) as pool:
                outcomes = list(
                    pool.map(
                        lambda _: hostile.call(
                            (host, int(port)), "GET", "/account/organization?case=0",
                            {"Authorization": "Bearer sk_live_memory"}, b"", timeout + 30,
                        ),
                        range(calls),
                    )
                )  # fmt: skip
            took = time.monotonic() - started
            if over:
                return f"| {name} | {before:.0f} | > {ceiling:.0f} (stopped at {over[0]:.0f}) | - | - | {took:.1f} |"
            time.sleep(1)
            peak, after = rss(process.pid, "VmHWM"), rss(process.pid)
        finally:
            stopped.set()
            process.terminate()
            process.wait(15)
    got = ", ".join(sorted({f"{o.status} {len(o.body) / MIB:.0f} MiB" if o.status else o.failure for o in outcomes}))
    return f"| {name} | {before:.0f} | {peak:.0f} | {after:.0f} | {got} | {took:.1f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mock", default=MOCK, help="the proxy's command line, {upstream} the deployment's URL")
    parser.add_argument("--timeout", type=int, default=10, help="--proxy-timeout, seconds (default 10)")
    parser.add_argument("--ceiling-mib", type=float, default=3072, help="stop a mock whose RSS passes this")
    args = parser.parse_args()
    huge = 1 << 40  # the acts' own cap: what they send is not judged against one
    cases = [
        ("one answer of 400 MiB", hostile.oversized(400 * MIB, "length", huge), 1),
        ("one answer of 400 MiB, chunked", hostile.oversized(400 * MIB, "chunked", huge), 1),
        ("an endless chunked answer", hostile.endless(), 1),
        ("8 answers of 60 MiB at once", hostile.oversized(60 * MIB, "length", huge), 8),
        ("8 answers of 60 MiB at once, chunked", hostile.oversized(60 * MIB, "chunked", huge), 8),
    ]
    print(f"mock: {args.mock}")
    print("| case | RSS before (MiB) | max RSS (MiB) | RSS 1 s after (MiB) | the calls got | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, act, calls in cases:
        print(case(name, act, calls, args.mock, args.timeout, args.ceiling_mib), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
