"""A real redis-server for the tests: started once per test session on a free loopback port."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

BACKENDS = ["memory", "sqlite", "redis"]
"""Every state backend, for the tests of the rules each must keep."""
_namespaces = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(folder: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """redis-server on ``port`` (a free one by default), without persistence, and its URL; fails naming
    ``make redis`` if missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: `make redis` installs it (Debian's package)", pytrace=False)
    port = port or free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}", pytrace=False)
            time.sleep(0.02)
        finally:
            client.close()
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server that lives as long as the test session."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(process)


def state_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh state of ``backend``: a new SQLite file, or a namespace of its own on the session's Redis."""
    if backend == "memory":
        return "memory"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return f"{request.getfixturevalue('redis_server')}?namespace=test{next(_namespaces)}"
