"""--workers N: N processes on one port and one shared state; SIGTERM stops them all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .redis_server import state_url

FREE = {"Authorization": "Bearer sk_test_free_org"}


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


@pytest.mark.socket
@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_each_worker_serves_the_shared_state_and_sigterm_stops_them_all(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    state = state_url(backend, request, tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", "0", "--workers", "2", "--state", state],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = "".join(iter(process.stdout.readline, "  2 worker processes.\n"))
        base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while len(workers := children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2
        # One worker paused: the other takes every new connection, and sees what the first one stored.
        for paused, number in zip(workers, (402, 502), strict=True):
            os.kill(paused, signal.SIGSTOP)
            try:
                sticky = {"organizationId": "org_free_demo", "status": str(number)}
                assert httpx.post(f"{base}/__mock__/sticky", data=sticky, timeout=10).status_code == 303
                assert httpx.get(f"{base}/account/organization", headers=FREE, timeout=10).status_code == number
            finally:
                os.kill(paused, signal.SIGCONT)
        os.kill(workers[0], signal.SIGSTOP)
        try:  # the sticky scenario the second worker set, seen by the first
            assert httpx.get(f"{base}/account/organization", headers=FREE, timeout=10).status_code == 502
        finally:
            os.kill(workers[0], signal.SIGCONT)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert (process.returncode, "Traceback" in err) == (0, False), err
    assert "org-billing-mock stopped." in out
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
