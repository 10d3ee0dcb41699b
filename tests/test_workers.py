"""--workers N: N processes on one port and one shared state; SIGTERM stops them all."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from .redis_server import state_url

FREE = {"Authorization": "Bearer sk_test_free_org"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


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


def ask(connection: http.client.HTTPConnection, method: str, path: str, **kwargs: object) -> int:
    connection.request(method, path, **kwargs)  # type: ignore[arg-type]
    answer = connection.getresponse()
    answer.read()
    return answer.status


def worker_of(connection: http.client.HTTPConnection, workers: list[int]) -> int:
    """The worker that accepted ``connection`` (it has answered on it): the one holding the socket whose
    peer is the connection's own end."""
    host, port = connection.sock.getsockname()[:2]
    peer = f"{''.join(reversed([f'{int(part):02X}' for part in host.split('.')]))}:{port:04X}"
    inodes = [line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:] if line.split()[2] == peer]
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in {f"socket:[{inode}]" for inode in inodes}:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no worker holds the connection from {host}:{port}")


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
    stack = contextlib.ExitStack()  # the connections below
    try:
        assert process.stdout is not None
        banner = "".join(iter(process.stdout.readline, "  2 worker processes.\n"))
        base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while len(workers := children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2
        # Twenty connections opened at once, as a load generator opens them: each worker takes some.
        port = int(base.rsplit(":", 1)[1])
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(20)]
        for connection in connections:
            stack.callback(connection.close)
            connection.connect()
        assert {ask(connection, "GET", "/account/organization", headers=FREE) for connection in connections} == {200}
        by_worker = {worker_of(connection, workers): connection for connection in connections}
        assert sorted(by_worker) == workers
        # What one worker stores, the other answers with.
        for setter, getter, number in ((workers[0], workers[1], 402), (workers[1], workers[0], 502)):
            form = urllib.parse.urlencode({"organizationId": "org_free_demo", "status": number})
            assert ask(by_worker[setter], "POST", "/__mock__/sticky", body=form, headers=FORM) == 303
            assert ask(by_worker[getter], "GET", "/account/organization", headers=FREE) == number
    finally:
        stack.close()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert (process.returncode, "Traceback" in err) == (0, False), err
    assert "org-billing-mock stopped." in out
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_workers_do_not_share_a_port_another_process_listens_on(tmp_path: Path) -> None:
    with socket.socket() as other:  # another server, itself open to sharing the port
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        state = f"sqlite:///{tmp_path / 'state.db'}"
        command = [sys.executable, "-m", "mock_server", "--port", str(port), "--workers", "2", "--state", state]
        process = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (process.returncode, "Traceback" in process.stderr) == (2, False)
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in process.stderr
