"""Eight clients at once on one real mock, each in sandboxes of its own: none ever sees another's changes."""

from __future__ import annotations

import concurrent.futures
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from .redis_server import state_url
from .servers import read_banner

CLIENTS = 8
ROUNDS = 25
FREE = {"Authorization": "Bearer sk_test_free_org"}
BODY = {
    "messagePriceId": "price_message_growth",
    "successUrl": "http://localhost:3000/ok",
    "cancelUrl": "http://localhost:3000/cancel",
}


@contextmanager
def mock(folder: Path, *argv: str) -> Iterator[str]:
    """mock-server in a process of its own; its request log lines (a thousand) go to a file, not a pipe
    nobody reads until the end."""
    log = folder / "mock.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "--port", "0", *argv],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            yield read_banner(process)[1]
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
    assert "Traceback" not in log.read_text()


def journey(base: str, client: int) -> list[str]:
    """``ROUNDS`` fresh sandboxes (by header and by credentials in turn): free, pay, paid. What went wrong."""
    wrong = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for round_ in range(ROUNDS):
            name = f"client{client}-round{round_}"
            if round_ % 2:
                keys = http.post("/__mock__/sandboxes", json={"name": name}).json()["organizations"]
                free = next(found for found in keys if found["organizationId"] == "org_free_demo")
                headers = {"Authorization": f"Bearer {free['apiKey']}"}
            else:
                headers = {**FREE, "X-Mock-Sandbox": name}
            before = http.get("/account/organization", headers=headers).json()["organizationType"]
            made = http.post("/billing", headers=headers, json=BODY).json()
            paid = http.post(made["url"], data={"action": "pay"}, follow_redirects=False).status_code
            after = http.get("/account/organization", headers=headers).json()["organizationType"]
            if (before, paid, after) != ("free", 303, "paid"):
                wrong.append(f"{name}: {before} -> {paid} -> {after}")
    return wrong


def run_clients(base: str) -> None:
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        wrong = [problem for found in pool.map(lambda n: journey(base, n), range(CLIENTS)) for problem in found]
    assert wrong == []
    assert httpx.get(f"{base}/account/organization", headers=FREE).json()["organizationType"] == "free"
    listed = httpx.get(f"{base}/__mock__/sandboxes").json()
    assert listed["count"] == CLIENTS * ROUNDS


@pytest.mark.socket
def test_eight_clients_in_sandboxes_of_their_own_on_memory(tmp_path: Path) -> None:
    with mock(tmp_path) as base:
        run_clients(base)


@pytest.mark.socket
def test_eight_clients_in_sandboxes_of_their_own_on_redis_with_two_workers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with mock(tmp_path, "--state", state_url("redis", request, tmp_path), "--workers", "2") as base:
        run_clients(base)
