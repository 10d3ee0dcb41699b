"""``make fuzz``: hostile requests at a running mock; any 5xx or hang is a finding.

    python scripts/fuzz.py [--requests 20000] [--seed 1] [--schemathesis 300] [--fixture-folders 40] [--url URL]

Without ``--url`` it starts ``mock-server`` on a free loopback port (with short
timeouts, so half-sent requests resolve quickly) and samples its RSS. Raw-socket
requests come from a seeded generator (see :mod:`hostile`): malformed and mutated
HTTP, odd encodings, hostile JSON and headers, on the API and the ``/__mock__/``
routes, sent over a few connections at a time. Then Schemathesis runs against
``openapi.yaml`` and the ``/__mock__/`` document with ``not_a_server_error``,
hostile fixture folders are started with ``mock-server --fixtures`` (see
:mod:`hostile_fixtures`; ``--fixture-folders``), and ``--upstream`` requests go
through a ``mock-server --proxy`` to a hostile deployment (see
:mod:`hostile_upstream`). Prints requests sent, statuses, 5xx answers, hangs and
RSS samples, and the folders' summary; exits 1 on a 5xx, a hang, a dead server, a
folder not refused in one line (or a valid one not served), or a finding of the
hostile deployment. No request asks for a 5xx on purpose.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostile
import hostile_fixtures
import hostile_upstream

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_FLAGS = ["--header-timeout", "2", "--body-timeout", "2", "--max-connections", "200"]


MOCK = [str(BIN / "mock-server"), "--port", "0", *SERVER_FLAGS]


def start_server(log: Path, command: list[str] = MOCK) -> tuple[subprocess.Popen[bytes], str]:
    """``mock-server`` (or ``command``) on a free port, its output in ``log`` (a pipe nobody reads would block it)."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"mock-server did not start:\n{log.read_text(errors='replace')}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def exchange(address: tuple[str, int], request: bytes, timeout: float) -> tuple[str, bytes]:
    """("answer", first bytes) | ("closed", b"") | ("reset", b"") | ("hang", b"")."""
    try:
        with socket.create_connection(address, timeout=timeout) as client:
            client.sendall(request)
            received = b""
            while len(received) < 4096:
                chunk = client.recv(4096)
                if not chunk:
                    break
                received += chunk
                if b"\r\n\r\n" in received:
                    break
    except TimeoutError:
        return "hang", b""
    except (ConnectionResetError, BrokenPipeError):
        return "reset", b""
    return ("answer", received) if received else ("closed", b"")


def alive(address: tuple[str, int]) -> bool:
    kind, raw = exchange(address, b"GET /__mock__/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 5)
    return kind == "answer" and raw.startswith(b"HTTP/1.1 200 ")


def raw_fuzz(base: str, count: int, seed: int, pid: int | None, timeout: float) -> dict[str, object]:
    host, port = base.removeprefix("http://").split(":")
    address = (host, int(port))
    rng = random.Random(seed)
    requests = [hostile.request(rng) for _ in range(count)]
    statuses: collections.Counter[str] = collections.Counter()
    errors: list[str] = []
    rss: list[float] = []
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for start in range(0, count, 500):
            batch = requests[start : start + 500]
            for (label, request), (kind, raw) in zip(
                batch, pool.map(lambda item: exchange(address, item[1], timeout), batch), strict=True
            ):
                status = raw[9:12].decode("latin-1") if kind == "answer" else kind
                statuses[status] += 1
                if kind == "hang" or status.startswith("5"):
                    errors.append(f"{status} for {label}: {request[:160]!r} -> {raw[:300]!r}")
            done += len(batch)
            if pid is not None:
                rss.append(round(rss_mib(pid), 1))
            if not alive(address):
                errors.append(f"the server stopped answering after {done} requests")
                break
    return {"sent": done, "statuses": dict(statuses.most_common()), "errors": errors, "rss": rss}


def schemathesis(base: str, examples: int, seed: int) -> list[str]:
    failures = []
    for document, headers in (
        (ROOT / "openapi.yaml", ["-H", "Authorization: Bearer sk_test_paid_org"]),
        (ROOT / "mock_server" / "admin.yaml", []),
    ):
        command = [str(BIN / "schemathesis"), "run", str(document), "--url", base, "--checks", "not_a_server_error",
                   "--max-examples", str(examples), "--seed", str(seed), "--no-color", *headers]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)  # noqa: S603
        summary = [line for line in done.stdout.splitlines() if re.search(r"passed|failed|Test cases|error", line)]
        print(f"schemathesis {document.name}: exit {done.returncode}; " + " | ".join(summary[-3:]))
        if done.returncode != 0:
            failures.append(f"schemathesis on {document.name} failed:\n{done.stdout[-3000:]}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schemathesis", type=int, default=300, help="examples per operation (0: skip)")
    parser.add_argument("--url", help="a running mock (default: start one)")
    parser.add_argument("--timeout", type=float, default=6.0, help="seconds before a silent request is a hang")
    parser.add_argument("--fixture-folders", type=int, default=40, help="hostile fixture folders to start (0: skip)")
    parser.add_argument("--upstream", type=int, default=1000, help="requests to a hostile deployment (0: skip)")
    parser.add_argument("--upstream-cap", type=int, default=16 * 1024 * 1024, help="the proxy's answer cap, bytes")
    parser.add_argument("--proxy-command", help="the proxy in front of it, {upstream} its URL (default: the mock)")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "mock-server.log"
    process, base = (None, args.url.rstrip("/")) if args.url else start_server(log)
    pid = process.pid if process else None
    started = time.monotonic()
    try:
        result = raw_fuzz(base, args.requests, args.seed, pid, args.timeout)
        errors = list(result["errors"])  # type: ignore[call-overload]
        if args.schemathesis:
            errors += schemathesis(base, args.schemathesis, args.seed)
        folders, failures = hostile_fixtures.run(args.fixture_folders, args.seed) if args.fixture_folders else ([], [])
        errors += failures
        if args.upstream:
            errors += hostile_upstream.run(
                args.upstream, args.seed, start_server, MOCK, proxy_command=args.proxy_command, cap=args.upstream_cap
            )
    finally:
        if process is not None:
            process.terminate()
            process.wait(15)
    print(f"raw requests sent: {result['sent']} (seed {args.seed}) in {time.monotonic() - started:.0f} s")
    print(f"statuses: {result['statuses']}")
    print(f"RSS MiB per 500 requests: {result['rss']}")
    for line in folders:
        print(line)
    print(f"5xx, hangs, a dead server: {len(errors)}")
    for error in errors[:20]:
        print("  " + error)
    if process is not None:
        print(f"server log: {log}")
    if errors:
        again = f"--seed {args.seed} --requests {args.requests} --fixture-folders {args.fixture_folders}"
        print(f"reproduce: python scripts/fuzz.py {again} --upstream {args.upstream}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
