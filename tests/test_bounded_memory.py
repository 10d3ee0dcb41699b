"""Memory stays bounded: the store keeps the most recent checkout sessions, the fake Stripe its recent calls."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock
from mock_server.store import MAX_SESSIONS
from mock_server.stripe_stub import MAX_CALLS, FakeStripe

from .conftest import BASE_URL, START, checkout_body

FREE = {"Authorization": "Bearer sk_test_free_org"}


@pytest.fixture
def app() -> MockServer:
    return create_app(clock=Clock(start=START))


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


def session(number: int) -> dict[str, Any]:
    return {"id": f"cs_test_{number}", "organizationId": "org_free_demo", "status": "open"}


def test_50_000_sessions_keep_the_count_at_the_cap_the_oldest_dropped_first(app: MockServer) -> None:
    world = app.services.store.world()
    for number in range(50_000):
        world.add_session(session(number))
    sessions = world.sessions()
    assert len(sessions) == MAX_SESSIONS == 10_000
    assert next(iter(sessions)) == f"cs_test_{50_000 - MAX_SESSIONS}"
    assert next(reversed(sessions)) == "cs_test_49999"
    assert "cs_test_39999" not in sessions


def test_completing_a_session_does_not_make_it_newer(app: MockServer) -> None:
    world = app.services.store.world()
    world.max_sessions = 2
    world.add_session(session(1))
    world.add_session(session(2))
    organization = {"organizationId": "org_free_demo"}
    assert world.complete_session({**session(1), "status": "complete"}, "org_free_demo", None, organization) == "paid"
    world.add_session(session(3))
    assert list(world.sessions()) == ["cs_test_2", "cs_test_3"]


def test_a_dropped_session_answers_as_an_unknown_one(app: MockServer, client: TestClient) -> None:
    app.services.store.world().max_sessions = 2
    body = checkout_body(BASE_URL, messagePriceId="price_message_growth")
    urls = [client.post("/billing", headers=FREE, json=body).json()["url"] for _ in range(3)]
    unknown = f"{BASE_URL}/__mock__/checkout/cs_test_never_made"
    for action in ({}, {"data": {"action": "pay"}}, {"data": {"action": "cancel"}}):
        method = "POST" if action else "GET"
        dropped = client.request(method, urls[0], follow_redirects=False, **action)
        never = client.request(method, unknown, follow_redirects=False, **action)
        assert dropped.status_code == never.status_code == 404
        assert dropped.json()["error"]["code"] == never.json()["error"]["code"] == "checkout_session_not_found"
    assert client.get(urls[1], headers={"Accept": "text/html"}).status_code == 200
    assert client.post(urls[2], data={"action": "pay"}, follow_redirects=False).status_code == 303
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "paid"


def test_an_expired_session_kept_still_says_it_expired(app: MockServer, client: TestClient) -> None:
    body = checkout_body(BASE_URL, messagePriceId="price_message_growth")
    url = client.post("/billing", headers=FREE, json=body).json()["url"]
    app.services.store.clock.advance(dt.timedelta(days=30))
    assert client.post(url, data={"action": "pay"}).status_code == 410


def test_the_fake_stripe_keeps_its_most_recent_calls() -> None:
    stripe = FakeStripe({})

    async def call_many() -> None:
        for number in range(MAX_CALLS + 500):
            await stripe.create_customer(organization_id=f"org_{number}", email="a@example.com", name="A")

    asyncio.run(call_many())
    assert len(stripe.calls) == MAX_CALLS == 1_000
    assert stripe.calls[0].organization_id == "org_500"
    assert stripe.calls[-1].organization_id == f"org_{MAX_CALLS + 499}"
    stripe.reset()
    assert len(stripe.calls) == 0
