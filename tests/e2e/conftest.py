"""A real mock server on a free loopback port, and Debian's headless Chromium driven by Playwright.

The browser is ``/usr/bin/chromium`` (``make chromium`` installs it); Playwright
never downloads one. Without it the tests are skipped on a developer's machine
and fail under CI (``CI`` set), so a missing browser cannot pass for green.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from mock_server.app import create_app

from .live import LiveServer, frontend

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    app = create_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the mock server did not start on a loopback port")
        time.sleep(0.02)
    try:
        with frontend() as app_url:
            yield LiveServer(f"http://127.0.0.1:{port}", app, app_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _require_browser() -> None:
    if os.access(CHROMIUM, os.X_OK):
        return
    problem = f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop: keep it out of other modules
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _require_browser()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh tab on a freshly reset mock; fails the test if the mock answered a 5xx meanwhile."""
    with live_server.client() as client:
        assert client.post("/__mock__/reset").status_code == 200
    tab = browser_context.new_page()
    try:
        yield tab
    finally:
        tab.close()
    store = live_server.app.services.store
    store.runner.drain()
    errors = [entry for entry in store.world().recent(200) if entry["status"] >= 500]
    assert not errors, f"the mock answered server errors: {errors}"
