"""Starting ``mock-server`` for real in a test: the process and the base URL its banner names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

__all__ = ["read_banner", "run_mock"]


def run_mock(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mock_server", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def read_banner(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The start-up banner and the base URL it names."""
    assert process.stdout is not None
    banner = ""
    deadline = time.monotonic() + 30
    while "Ctrl-C" not in banner and time.monotonic() < deadline:
        banner += process.stdout.readline()
    found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    assert found, banner
    return banner, found.group(1)
