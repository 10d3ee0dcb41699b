"""``billing_mock``: the mock for another project's tests, on a real loopback socket.

Registered with the ``pytest11`` entry point ``billing_mock``, so installing the
package gives every pytest session the fixture (``-p no:billing_mock`` turns it
off). The mock starts once per test session, on a free port, in a background
thread; tests control it through :class:`BillingMock`. Override the
``billing_mock_settings`` fixture to start it with other settings.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from .asgi import MockServer
    from .settings import Settings

__all__ = ["BillingMock", "billing_mock", "billing_mock_settings", "serve"]

T = TypeVar("T")
WAIT_SECONDS = 30.0
"""The longest wait for the mock to start, or to carry out a control call."""
STOP_SECONDS = 1
"""How long the mock lets requests still in flight finish when the test session ends."""


class BillingMock:
    """The running mock: its ``url``, and the controls a test needs between calls (on the default sandbox)."""

    def __init__(self, url: str, app: MockServer, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.app = app
        self._loop = loop

    def _on_server(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action`` on the server's event loop, between requests, and return what it returns."""

        async def run() -> T:
            await asyncio.sleep(0)  # let a request that has just answered finish its bookkeeping
            return await action()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=WAIT_SECONDS)

    def reset(self) -> None:
        """Back to the fixtures: organizations, sessions, sticky scenarios, the clock and the request log."""
        self._on_server(self.app.services.reset)

    def now(self) -> dt.datetime:
        """The mock's clock."""

        async def now() -> dt.datetime:
            return (await self.app.services.store.sandbox()).now

        return self._on_server(now)

    def advance_clock(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move the mock's clock forward by ``delta`` (a timedelta, or seconds); the new time."""
        step = delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)
        if step < dt.timedelta():
            raise ValueError(f"the mock's clock only moves forward, got {step}")

        async def advance() -> dt.datetime:
            return await (await self.app.services.store.sandbox()).advance(step)

        return self._on_server(advance)

    def set_scenario(self, organization_id: str, status: int | None) -> None:
        """Every call of ``organization_id`` answers ``status`` from now on; None answers normally again."""
        from .browser import sticky_statuses

        services = self.app.services
        if organization_id not in services.store.tenants:
            raise ValueError(f"no organization {organization_id!r}; known: {', '.join(services.store.tenants)}")
        allowed = sticky_statuses(services)
        if status is not None and (isinstance(status, bool) or status not in allowed):
            raise ValueError(f"status must be one of {', '.join(map(str, allowed))} or None, got {status!r}")

        async def set_sticky() -> None:
            await (await services.store.sandbox()).set_sticky(organization_id, status)

        self._on_server(set_sticky)

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first: trackingId, time, method, path, status, durationMs, organizationId
        and violations (with --proxy)."""
        return self._on_server(self.app.services.request_log)


@contextmanager
def serve(settings: Settings | None = None) -> Iterator[BillingMock]:
    """The mock on ``settings.host`` (default loopback) and a free port, until the block ends."""
    from .settings import Settings

    settings = settings or Settings(port=0)
    # Connexion, jsonschema and Starlette warn of deprecations at import time: not the concern of the
    # project under test, whose filterwarnings may turn warnings into errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import uvicorn

        from .app import create_app

        app = create_app(settings)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((settings.host, settings.port))
    sock.listen(128)
    config = uvicorn.Config(
        app,
        loop="asyncio",
        ws="none",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=STOP_SECONDS,  # a request still in flight (Prefer: delay=60000) is cut off
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), name="billing-mock", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the billing mock did not start")
            time.sleep(0.01)
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        yield BillingMock(f"http://{host}:{sock.getsockname()[1]}", app, loop)
    finally:
        server.should_exit = True
        thread.join(WAIT_SECONDS)
        sock.close()
        if not thread.is_alive():
            loop.close()
            app.services.store.close()


@pytest.fixture(scope="session")
def billing_mock_settings() -> Settings:
    """The mock's settings: the defaults on a free loopback port. Override it in a conftest.py."""
    from .settings import Settings

    return Settings(port=0)


@pytest.fixture(scope="session")
def billing_mock(billing_mock_settings: Settings) -> Iterator[BillingMock]:
    """The mock for this test session, at ``billing_mock.url``."""
    with serve(billing_mock_settings) as mock:
        yield mock
