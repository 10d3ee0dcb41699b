"""Shared fixtures: the mock in-process, a client, credentials."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock
from mock_server.spec import ApiSpec, load_spec
from mock_server.stores import World

from .redis_server import redis_server

__all__ = ["redis_server"]  # the session's redis-server, for every test module

BASE_URL = "http://127.0.0.1:8080"
"""Where the tests send requests: a Host the mock serves."""
START = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
VALID_BODY = {"successUrl": "http://localhost:3000/ok", "cancelUrl": "http://localhost:3000/cancel"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def outcome_within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raised (None: nothing), run in a thread given ``seconds``; fails the test if it is still
    running then (a FIFO opened for reading, for one, waits for a writer)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still running after {seconds} s"
    return outcome[0]


def checkout_body(app_url: str, **prices: str) -> dict[str, str]:
    """A POST /billing body that returns to ``app_url``, with Stripe's session id placeholder."""
    return {
        **prices,
        "successUrl": f"{app_url}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancelUrl": f"{app_url}/billing/cancel",
    }


def stored(app: MockServer, sandbox: str = "default") -> World:
    """What the state of ``sandbox`` holds, read directly once every call made so far is done."""
    app.services.store.runner.drain()
    return app.services.store.world(sandbox)


def organization(app: MockServer, organization_id: str, sandbox: str = "default") -> dict[str, Any]:
    """The organization as stored, or as the fixtures say when it never changed (billing time not applied)."""
    found = stored(app, sandbox).organization(organization_id)
    return found if found is not None else app.services.store.tenants[organization_id].organization


@pytest.fixture(scope="session")
def spec() -> ApiSpec:
    return load_spec()


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START)


@pytest.fixture
def app(clock: Clock) -> MockServer:
    return create_app(Settings(), clock=clock)


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as test_client:
        yield test_client
