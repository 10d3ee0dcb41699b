"""A short seeded run of the project's own fuzzer: hostile raw requests and Schemathesis, no 5xx, no hang."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.socket


def test_a_short_seeded_fuzz_run_finds_no_5xx_and_no_hang() -> None:
    command = ["--requests", "800", "--schemathesis", "8", "--seed", "7", "--fixture-folders", "8"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fuzz.py"), *command],
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
                str(ROOT / "scripts" / "fuzz.py"),
                "--requests",
                "50",
                "--schemathesis",
                "0",
                "--fixture-folders",
                "0",
                "--url",
                f"http://127.0.0.1:{port}",
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
