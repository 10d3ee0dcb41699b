"""A short seeded run of the project's own fuzzer: hostile raw requests and Schemathesis, no 5xx, no hang."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "scripts" / "fuzz.py"

pytestmark = pytest.mark.socket


def test_a_short_seeded_fuzz_run_finds_no_5xx_and_no_hang() -> None:
    command = ["--requests", "800", "--schemathesis", "8", "--seed", "7", "--fixture-folders", "8"]
    done = subprocess.run(
        [sys.executable, str(FUZZ), *command, "--upstream", "0"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "raw requests sent: 800" in done.stdout
    assert "5xx, hangs, a dead server: 0" in done.stdout
    assert "fixture folders: 8 (seed 7): " in done.stdout and ", 0 failed" in done.stdout


def test_the_fuzzer_reports_a_5xx(tmp_path: Path) -> None:
    """Pointed at a server that answers 500 to everything, the fuzzer fails and says so."""
    server = tmp_path / "broken.py"
    server.write_text(
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def answer(self):\n"
        "        self.send_response(500); self.send_header('Content-Length', '0'); self.end_headers()\n"
        "    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_TRACE = answer\n"
        "    def log_message(self, *args): pass\n"
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broken = subprocess.Popen([sys.executable, str(server), str(port)])
    try:
        time.sleep(0.5)
        done = subprocess.run(
            [
                sys.executable,
                str(FUZZ),
                "--requests",
                "50",
                "--schemathesis",
                "0",
                "--fixture-folders",
                "0",
                "--url",
                f"http://127.0.0.1:{port}",
                "--upstream",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
    finally:
        broken.terminate()
        broken.wait(10)
    assert done.returncode == 1
    assert "500 for" in done.stdout
    assert "reproduce: python scripts/fuzz.py --seed 1" in done.stdout


def upstream_fuzz(*args: str) -> subprocess.CompletedProcess[str]:
    """Only the hostile deployment: no raw requests, no Schemathesis, no fixture folders."""
    command = [sys.executable, str(FUZZ), "--requests", "0", "--schemathesis", "0", "--fixture-folders", "0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_a_short_seeded_run_against_a_hostile_deployment_finds_nothing() -> None:
    done = upstream_fuzz("--upstream", "150", "--seed", "7", "--upstream-cap", str(1024 * 1024))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "hostile upstream: 150 exchanges (seed 7, cap 1,048,576 bytes)" in done.stdout
    assert "unexpected 5xx: 0; hangs: 0; other problems: 0" in done.stdout


# A proxy with the faults the mock's had: kept connections reused by every call, the caller's body on a GET, every
# header back, and a 500 when the deployment's answer is not one http.client takes.
NAIVE_PROXY = """
import http.client, http.server, queue, sys
upstream = sys.argv[1].removeprefix("http://")
kept = queue.Queue()
for _ in range(3):
    kept.put(http.client.HTTPConnection(upstream, timeout=2))

class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        connection = kept.get()
        try:
            connection.request(self.command, self.path, body, {"Authorization": self.headers["Authorization"]})
            got = connection.getresponse()
            status, headers, content = got.status, got.getheaders(), got.read(4_000_000)
        except Exception:
            connection.close()
            status, headers, content = 500, [], b"{}"
        finally:
            kept.put(connection)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = forward

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
"""


def test_the_hostile_deployment_reports_a_broken_proxy(tmp_path: Path) -> None:
    proxy = tmp_path / "naive_proxy.py"
    proxy.write_text(NAIVE_PROXY)
    done = upstream_fuzz("--upstream", "60", "--seed", "7", "--proxy-command", f"{sys.executable} {proxy} {{upstream}}")
    assert done.returncode == 1, done.stdout[-4000:]
    found = re.search(r"unexpected 5xx: (\d+); hangs: \d+; other problems: (\d+)", done.stdout)
    assert found and int(found.group(1)) > 0 and int(found.group(2)) > 0, done.stdout[-4000:]
    line = done.stdout.split("of which: ")[1].splitlines()[0]
    kinds = {kind.strip(): int(number) for kind, number in re.findall(r"([a-z ]+): (\d+)", line)}
    for kind in ("crossed", "with a body", "the caller got"):
        assert kinds[kind] > 0, (kind, kinds)
    assert "reproduce: python scripts/fuzz.py --seed 7 --requests 0 --fixture-folders 0 --upstream 60" in done.stdout
