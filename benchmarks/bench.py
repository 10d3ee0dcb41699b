"""``make bench``: the mock beside Stoplight Prism and a bare Starlette ceiling, under wrk.

The mock also runs on Redis, in one process and in two workers, on a redis-server
the bench starts on a free port (``--state redis://``; docs/state.md). "mock --proxy"
is the mock proxying to a second mock on memory (docs/proxy.md): it and the mock are
also driven with one connection, and the latency the proxy adds is its median (p50)
minus the mock's at one connection, where queueing does not inflate it.

Each server is started on a free loopback port and timed from process start to its
first 200; each must answer both operations with 200 for the demo key before any load.
After a warm-up, wrk (one thread: it shares the machine's cores with the server) drives
each operation at each concurrency for ``--duration`` seconds, server after server, for
``--rounds`` rounds whose server order alternates. Answers outside 2xx count as errors.
The result is a Markdown table: requests/s, p50, p99, errors, start-up and RSS per
server, and the mock's ratio to Prism and to the ceiling.

    python benchmarks/bench.py [--rounds 2] [--duration 10] [--connections 10,50] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
TOOLS = HERE / ".tools"
PRISM = TOOLS / "node_modules" / ".bin" / "prism"
LUA = HERE / "wrk.lua"
KEY = "sk_test_paid_org"
BILLING_BODY = json.dumps({"successUrl": "https://app.example.com/done", "cancelUrl": "https://app.example.com/back"})
MIB = 1024 * 1024

MOCK = "mock"
MOCK_REDIS = "mock --state redis"
MOCK_REDIS_2W = "mock --state redis --workers 2"
MOCK_100K = "mock --generate 100000"
MOCK_PROXY = "mock --proxy (to a mock on memory)"
MOCK_SANDBOX = "mock, X-Mock-Sandbox on every request"
PRISM_NAME = "prism (static, -v silent)"
CEILING = "starlette ceiling"

# What the issue asks of the mock, checked at the end of every run.
TARGET_RATIO = 2.0
TARGET_STARTUP_S = {MOCK: 1.0, MOCK_100K: 5.0}
TARGET_RSS_MIB = 120.0
TARGET_100K_SLOWDOWN = 0.10
TARGET_PROXY_ADDED_MS = 2.0
PROXY_CONNECTIONS = 1


@dataclasses.dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    body: str | None = None


OPERATIONS = (
    Operation("GET /account/organization", "GET", "/account/organization"),
    Operation("POST /billing", "POST", "/billing", BILLING_BODY),
)


@dataclasses.dataclass(frozen=True)
class Server:
    key: str
    """For --servers and the log file's name."""
    name: str
    command: Callable[[int], list[str]]
    sandbox: str | None = None
    """The sandbox wrk names with X-Mock-Sandbox on every request."""


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Helper:
    """A process a server under test needs, on a free loopback port, started when first asked for."""

    process: subprocess.Popen[bytes] | None = None
    port = 0

    @classmethod
    def start(cls, command: Callable[[int], list[str]], limit_s: float = 30.0) -> int:
        if cls.process is None:
            cls.port = free_port()
            cls.process = subprocess.Popen(  # noqa: S603 - our own command lines
                command(cls.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + limit_s
            while not _listening(cls.port) and time.monotonic() < deadline:
                time.sleep(0.01)
        return cls.port

    @classmethod
    def stop(cls) -> None:
        if cls.process is not None:
            cls.process.terminate()
            cls.process.wait(10)
            cls.process = None


class RedisServer(Helper):
    """One redis-server, without persistence."""

    @classmethod
    def url(cls, namespace: str) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("bench: missing redis-server; `make redis` installs it")
        options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        port = cls.start(lambda port: [binary, "--port", str(port), *options])
        return f"redis://127.0.0.1:{port}/0?namespace={namespace}"


class ProxiedMock(Helper):
    """The mock "mock --proxy" forwards to: mock-server on memory."""

    @classmethod
    def url(cls) -> str:
        mock = str(Path(sys.executable).parent / "mock-server")
        return f"http://127.0.0.1:{cls.start(lambda port: [mock, '--port', str(port)])}"


KNOWN = ("mock", "mock-sandbox", "mock-redis", "mock-redis-2w", "prism", "ceiling", "mock-100k", "mock-proxy")


def servers(keys: Sequence[str] | None = None) -> list[Server]:
    bin_dir = Path(sys.executable).parent
    mock = str(bin_dir / "mock-server")
    known = [
        Server("mock", MOCK, lambda port: [mock, "--port", str(port)]),
        Server("mock-sandbox", MOCK_SANDBOX, lambda port: [mock, "--port", str(port)], sandbox="bench"),
        Server("mock-redis", MOCK_REDIS, lambda port: [mock, "--port", str(port), "--state", RedisServer.url("one")]),
        Server(
            "mock-redis-2w",
            MOCK_REDIS_2W,
            lambda port: [mock, "--port", str(port), "--state", RedisServer.url("two"), "--workers", "2"],
        ),
        Server(
            "prism",
            PRISM_NAME,
            lambda port: [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "silent", "openapi.yaml"],
        ),
        Server("ceiling", CEILING, lambda port: [sys.executable, str(HERE / "ceiling.py"), str(port)]),
        Server(
            "mock-100k",
            MOCK_100K,
            lambda port: [str(bin_dir / "mock-server"), "--port", str(port), "--generate", "100000"],
        ),
        Server("mock-proxy", MOCK_PROXY, lambda port: [mock, "--port", str(port), "--proxy", ProxiedMock.url()]),
    ]
    unknown = set(keys or ()) - {server.key for server in known}
    if unknown:
        raise SystemExit(f"bench: unknown server {', '.join(sorted(unknown))}; known: {', '.join(KNOWN)}")
    return [server for server in known if keys is None or server.key in keys]


# -- running servers ---------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(port: int, operation: Operation, timeout: float = 5.0) -> tuple[int, bytes]:
    """One request with the demo key: (status, body)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{operation.path}",
        method=operation.method,
        data=operation.body.encode() if operation.body else None,
        headers={"Authorization": f"Bearer {KEY}", **({"Content-Type": "application/json"} if operation.body else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


class Running:
    """A started server: its process, port, start-up time and log."""

    def __init__(self, server: Server, log_dir: Path) -> None:
        self.server = server
        self.port = free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{server.key}.log"
        self.log: TextIO = self.log_path.open("w", encoding="utf-8")
        started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603 - our own command lines
            self.server.command(self.port),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.startup_s = self._wait_ready(started)

    def _wait_ready(self, started: float, limit_s: float = 90.0) -> float:
        while time.monotonic() - started < limit_s:
            if self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"{self.server.name} exited with {self.process.returncode}; see {self.log_path}")
            try:
                if call(self.port, OPERATIONS[0], timeout=1.0)[0] == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.005)
        self.stop()
        raise SystemExit(f"{self.server.name} did not answer 200 within {limit_s:.0f} s; see {self.log_path}")

    def pids(self) -> list[int]:
        """The server's process and its descendants (Prism's node may fork)."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    queue += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
        return found

    def memory_mib(self) -> tuple[float, float]:
        """(RSS now, peak RSS) in MiB, summed over the server's processes."""
        now = peak = 0.0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            now += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
            peak += int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
        return now, peak

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# -- wrk -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sample:
    server: str
    operation: str
    connections: int
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def parse_wrk(output: str) -> dict[str, float]:
    """The numbers of ``wrk.lua``'s ``BENCH {...}`` line: requests/s, p50/p99 in ms, errors."""
    for line in output.splitlines():
        if line.startswith("BENCH "):
            raw = json.loads(line[len("BENCH ") :])
            errors = sum(raw[key] for key in ("non2xx", "connect", "read", "write", "timeout"))
            return {
                "requests": raw["requests"],
                "rps": raw["requests"] / (raw["duration_us"] / 1e6),
                "p50_ms": raw["p50_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "errors": errors,
            }
    raise ValueError(f"no BENCH line in wrk's output:\n{output}")


def run_wrk(
    port: int, operation: Operation, connections: int, duration_s: float, sandbox: str | None = None
) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s:g}s", "-s", str(LUA)]
    command += [f"http://127.0.0.1:{port}{operation.path}", "--", operation.method, KEY]
    command += [operation.body] if operation.body else []
    environment = {**os.environ, "BENCH_SANDBOX": sandbox or ""}
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=duration_s + 60, check=False, env=environment
    )
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# -- the table -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Summary:
    rps: float
    rps_low: float
    rps_high: float
    p50_ms: float
    p99_ms: float
    errors: int
    rounds: int


def summarize(samples: Iterable[Sample]) -> dict[tuple[str, int, str], Summary]:
    """Per (operation, connections, server): mean requests/s with its range over rounds,
    median p50, worst p99, all errors."""
    groups: dict[tuple[str, int, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.operation, sample.connections, sample.server), []).append(sample)
    return {
        key: Summary(
            rps=statistics.fmean(s.rps for s in group),
            rps_low=min(s.rps for s in group),
            rps_high=max(s.rps for s in group),
            p50_ms=statistics.median(s.p50_ms for s in group),
            p99_ms=max(s.p99_ms for s in group),
            errors=sum(s.errors for s in group),
            rounds=len(group),
        )
        for key, group in groups.items()
    }


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render(
    summaries: dict[tuple[str, int, str], Summary],
    startup: dict[str, float],
    memory: dict[str, tuple[float, float]],
    header: Sequence[str] = (),
) -> str:
    """The Markdown report: load table, ratios, servers, and the targets met or not."""
    lines = [*header]
    names = list(dict.fromkeys(server for (_, _, server) in summaries))
    position = {operation.name: index for index, operation in enumerate(OPERATIONS)}
    cells = sorted({(op, conns) for (op, conns, _) in summaries}, key=lambda cell: (position.get(cell[0], 99), cell[1]))
    lines += [
        "| operation | conns | server | req/s (mean; range over rounds) | p50 ms | p99 ms (worst) | errors |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for op, conns in cells:
        for name in names:
            s = summaries.get((op, conns, name))
            if s is not None:
                lines.append(
                    f"| {op} | {conns} | {name} | {s.rps:,.0f} ({s.rps_low:,.0f}-{s.rps_high:,.0f}) "
                    f"| {s.p50_ms:.2f} | {s.p99_ms:.2f} | {s.errors} |"
                )
    checks: list[tuple[str, bool]] = []
    if any(name in names for name in (PRISM_NAME, CEILING)) and MOCK in names:
        lines += [
            "",
            "| operation | conns | mock / Prism req/s | mock / ceiling req/s | p99 mock vs Prism (ms) |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for op, conns in cells:
            mock = summaries.get((op, conns, MOCK))
            prism = summaries.get((op, conns, PRISM_NAME))
            ceiling = summaries.get((op, conns, CEILING))
            if mock is None:
                continue
            to_prism = f"{mock.rps / prism.rps:.2f}x" if prism else "-"
            to_ceiling = f"{mock.rps / ceiling.rps:.2f}x" if ceiling else "-"
            p99 = f"{mock.p99_ms:.2f} vs {prism.p99_ms:.2f}" if prism else "-"
            lines.append(f"| {op} | {conns} | {to_prism} | {to_ceiling} | {p99} |")
            if prism:
                checks.append(
                    (f"{op} at {conns}: req/s >= {TARGET_RATIO}x Prism", mock.rps >= TARGET_RATIO * prism.rps)
                )
                checks.append((f"{op} at {conns}: p99 no worse than Prism", mock.p99_ms <= prism.p99_ms))
            if mock.errors:
                checks.append((f"{op} at {conns}: no errors", False))
            named = summaries.get((op, conns, MOCK_SANDBOX))
            if named and prism:
                checks.append(
                    (
                        f"{op} at {conns}: with X-Mock-Sandbox, req/s >= {TARGET_RATIO}x Prism "
                        f"({named.rps / prism.rps:.2f}x)",
                        named.rps >= TARGET_RATIO * prism.rps,
                    )
                )
            big = summaries.get((op, conns, MOCK_100K))
            if big:
                checks.append(
                    (
                        f"{op} at {conns}: with 100,000 organizations within 10% ({big.rps / mock.rps:.2f}x)",
                        big.rps >= (1 - TARGET_100K_SLOWDOWN) * mock.rps,
                    )
                )
    if MOCK in names and MOCK_REDIS_2W in names:
        lines += ["", "| operation | conns | on Redis / on memory req/s | 2 workers on Redis / 1 on memory |"]
        lines += ["| --- | ---: | ---: | ---: |"]
        for op, conns in cells:
            memory_rps = summaries.get((op, conns, MOCK))
            one, two = (summaries.get((op, conns, name)) for name in (MOCK_REDIS, MOCK_REDIS_2W))
            if memory_rps is None or two is None:
                continue
            single = f"{one.rps / memory_rps.rps:.2f}x" if one else "-"
            lines.append(f"| {op} | {conns} | {single} | {two.rps / memory_rps.rps:.2f}x |")
            checks.append((f"{op} at {conns}: 2 workers on Redis >= 1 process on memory", two.rps >= memory_rps.rps))
    if MOCK in names and MOCK_PROXY in names:
        lines += ["", "| operation | conns | p50 mock --proxy - p50 mock (ms): the latency the proxy adds |"]
        lines += ["| --- | ---: | ---: |"]
        for op, conns in cells:
            direct, proxied = (summaries.get((op, conns, name)) for name in (MOCK, MOCK_PROXY))
            if direct is None or proxied is None:
                continue
            added = proxied.p50_ms - direct.p50_ms
            lines.append(f"| {op} | {conns} | {added:.2f} |")
            if conns == PROXY_CONNECTIONS:
                target = f"{op} at {conns}: the proxy adds < {TARGET_PROXY_ADDED_MS:g} ms at the median"
                checks.append((target, added < TARGET_PROXY_ADDED_MS))
    lines += ["", "| server | start-up s (median) | peak RSS MiB | RSS after MiB |", "| --- | ---: | ---: | ---: |"]
    for name in names:
        now, peak = memory.get(name, (float("nan"), float("nan")))
        lines.append(f"| {name} | {startup.get(name, float('nan')):.2f} | {peak:.0f} | {now:.0f} |")
        if name in TARGET_STARTUP_S:
            checks.append((f"{name}: start-up < {TARGET_STARTUP_S[name]:g} s", startup[name] < TARGET_STARTUP_S[name]))
        if name == MOCK:
            checks.append((f"{name}: RSS after the run < {TARGET_RSS_MIB:g} MiB", now < TARGET_RSS_MIB))
    if checks:
        lines += ["", "| target | met |", "| --- | --- |", *(f"| {text} | {_mark(ok)} |" for text, ok in checks)]
    return "\n".join(lines)


# -- the run ---------------------------------------------------------------------


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )

    def version(command: list[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
        except OSError:
            return "?"
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "?"

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"Run {when} on {cpu}, {os.cpu_count()} cores, Linux {platform.release()}; "
        f"Python {platform.python_version()}, node {version(['node', '--version'])}, "
        f"Prism {version([str(PRISM), '--version'])}, {version(['wrk', '--version']).split(' [')[0]}; "
        f"load average {os.getloadavg()[0]:.2f} at the start.",
        "",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per server and operation")
    parser.add_argument("--connections", default="10,50", help="comma-separated (default 10,50)")
    parser.add_argument("--startups", type=int, default=3, help="start-ups timed per server (median; default 3)")
    parser.add_argument("--servers", help=f"comma-separated subset of: {', '.join(KNOWN)} (default all)")
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s, 1 s warm-up, 1 start-up: a smoke run")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup, args.startups = 1, 3.0, 1.0, 1
    connections = [int(part) for part in args.connections.split(",")]
    chosen = servers(args.servers.split(",") if args.servers else None)
    missing = [] if shutil.which("wrk") else ["wrk"]
    if any(server.name == PRISM_NAME for server in chosen) and not PRISM.exists():
        missing.append(str(PRISM))
    if missing:
        print(f"bench: missing {', '.join(missing)}; `make bench` installs them", file=sys.stderr)
        return 2

    header = machine()
    print(header[0], flush=True)
    running: dict[str, Running] = {}
    startup: dict[str, float] = {}
    samples: list[Sample] = []
    try:
        for server in chosen:  # one at a time, so start-ups do not compete
            times = []
            for attempt in range(args.startups):
                instance = Running(server, TOOLS / "logs")
                times.append(instance.startup_s)
                if attempt < args.startups - 1:
                    instance.stop()
            running[server.name] = instance
            startup[server.name] = statistics.median(times)
            print(f"  {server.name}: up in {startup[server.name]:.2f} s (port {instance.port})", flush=True)
        for name, instance in running.items():
            for operation in OPERATIONS:
                status, body = call(instance.port, operation)
                if status != 200:
                    raise SystemExit(f"{name} answered {status} to {operation.name}: {body[:300]!r}")
        for operation in OPERATIONS:
            mock_body, ceiling_body = (
                json.loads(call(running[name].port, operation)[1]) if name in running else None
                for name in (MOCK, CEILING)
            )
            if mock_body is not None and ceiling_body is not None and mock_body != ceiling_body:
                raise SystemExit(f"the ceiling's answer to {operation.name} differs from the mock's")
        for instance in running.values():
            for operation in OPERATIONS:
                run_wrk(instance.port, operation, connections[0], args.warmup, instance.server.sandbox)
        names = list(running)
        # The proxy's added latency is read at one connection, for it and the mock only.
        alone = [name for name in names if name in (MOCK, MOCK_PROXY)] if MOCK_PROXY in names else []
        cells = [(conns, names) for conns in connections]
        if alone and PROXY_CONNECTIONS not in connections:
            cells.insert(0, (PROXY_CONNECTIONS, alone))
        total = args.rounds * len(OPERATIONS) * sum(len(cell_names) for _, cell_names in cells)
        for round_number in range(args.rounds):
            for operation in OPERATIONS:
                for conns, cell_names in cells:
                    order = cell_names if round_number % 2 == 0 else cell_names[::-1]
                    for name in order:
                        instance = running[name]
                        result = run_wrk(instance.port, operation, conns, args.duration, instance.server.sandbox)
                        samples.append(
                            Sample(name, operation.name, conns, round_number + 1, result["rps"],
                                   result["p50_ms"], result["p99_ms"], int(result["errors"]))
                        )  # fmt: skip
                        print(
                            f"  [{len(samples)}/{total}] round {round_number + 1} {operation.name} c={conns} "
                            f"{name}: {result['rps']:,.0f} req/s p99 {result['p99_ms']:.2f} ms "
                            f"errors {int(result['errors'])}",
                            flush=True,
                        )
        memory = {name: instance.memory_mib() for name, instance in running.items()}
    finally:
        for instance in running.values():
            instance.stop()
        RedisServer.stop()
        ProxiedMock.stop()
    header[0] += f" Load average {os.getloadavg()[0]:.2f} at the end; {args.rounds} rounds of {args.duration:g} s."
    print()
    print(render(summarize(samples), startup, memory, header))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(s) for s in samples], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
