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
import re
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from .stores.base import DEFAULT

if TYPE_CHECKING:
    from .asgi import MockServer
    from .settings import Settings
    from .store import Sandbox

__all__ = ["BillingMock", "BillingSandbox", "billing_mock", "billing_mock_settings", "billing_sandbox", "serve"]

T = TypeVar("T")
WAIT_SECONDS = 30.0
"""The longest wait for the mock to start, or to carry out a control call."""
STOP_SECONDS = 1
"""How long the mock lets requests still in flight finish when the test session ends."""


class BillingMock:
    """The running mock: its ``url``, and the controls a test needs between calls, on one sandbox (the
    default one for ``billing_mock``, a test's own for ``billing_sandbox``)."""

    sandbox = DEFAULT
    """The sandbox the controls act on."""

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

    async def _sandbox(self) -> Sandbox:
        await self.app.services.sandboxes.enter(self.sandbox)
        return await self.app.services.store.sandbox(self.sandbox)

    def reset(self) -> None:
        """Back to the fixtures: organizations, sessions, sticky scenarios, the clock and the request log."""
        self._on_server(lambda: self.app.services.reset(self.sandbox))

    def now(self) -> dt.datetime:
        """The mock's clock."""

        async def now() -> dt.datetime:
            return (await self._sandbox()).now

        return self._on_server(now)

    def advance_clock(self, delta: dt.timedelta | float) -> dt.datetime:
        """Move the mock's clock forward by ``delta`` (a timedelta, or seconds); the new time. Billing time
        follows: anniversaries pass, pending downgrades apply, checkout sessions expire."""
        step = delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)
        if step < dt.timedelta():
            raise ValueError(f"the mock's clock only moves forward, got {step}")

        async def advance() -> dt.datetime:
            return await (await self._sandbox()).advance(step)

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
            await (await self._sandbox()).set_sticky(organization_id, status)

        self._on_server(set_sticky)

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first: trackingId, time, method, path, status, durationMs, organizationId
        and violations (with --proxy)."""
        return self._on_server(lambda: self.app.services.request_log(self.sandbox))


class BillingSandbox(BillingMock):
    """A sandbox of its own on the session's mock: the same ``url``; send ``headers`` (``X-Mock-Sandbox``), or
    use ``credentials``, which work in this sandbox only. Every control acts on it alone."""

    def __init__(self, mock: BillingMock, name: str | None = None) -> None:
        super().__init__(mock.url, mock.app, mock._loop)
        sandboxes = self.app.services.sandboxes
        info = self._on_server(lambda: sandboxes.create(name))
        self.sandbox = info.name
        self.name = info.name
        described = sandboxes.describe(info, credentials=True)
        self.token: str = described["token"]
        self.credentials: dict[str, dict[str, str]] = {
            found["organizationId"]: found for found in described["organizations"]
        }
        """organizationId -> its apiKey, clientId and clientSecret in this sandbox."""
        self.headers = {"X-Mock-Sandbox": self.name}
        """Headers that put a request with the demo credentials in this sandbox (Playwright's extraHTTPHeaders)."""

    def bearer(self, organization_id: str) -> dict[str, str]:
        """``Authorization`` with the organization's bearer key in this sandbox."""
        return {"Authorization": f"Bearer {self.credentials[organization_id]['apiKey']}"}

    def drop(self) -> None:
        """Forget the sandbox: its credentials answer 401 from now on."""
        self._on_server(lambda: self.app.services.sandboxes.drop(self.name))


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
    """The mock for this test session, at ``billing_mock.url`` (its controls act on the default sandbox)."""
    with serve(billing_mock_settings) as mock:
        yield mock


@pytest.fixture
def billing_sandbox(billing_mock: BillingMock, request: pytest.FixtureRequest) -> Iterator[BillingSandbox]:
    """A sandbox of this test's own on the session's mock, dropped after it: tests (and xdist workers) never
    see each other's changes, without a reset."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:48].strip("-") or "test"
    sandbox = BillingSandbox(billing_mock, f"{name}-{secrets.token_hex(4)}")
    yield sandbox
    sandbox.drop()
