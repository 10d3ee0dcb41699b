"""The stateful rules, the same on every backend: memory, a real SQLite file and a real redis-server."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock
from mock_server.stripe_stub import FakeStripe

from .conftest import BASE_URL, START, VALID_BODY, checkout_body, stored
from .redis_server import BACKENDS
from .redis_server import state_url as backend_url

FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
GROWTH = checkout_body(BASE_URL, messagePriceId="price_message_growth")


@pytest.fixture(params=BACKENDS)
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(request.param, request, tmp_path)


def make_app(state_url: str) -> MockServer:
    return create_app(Settings(state=state_url), clock=Clock(start=START))


@pytest.fixture
def app(state_url: str) -> Iterator[MockServer]:
    app = make_app(state_url)
    yield app
    app.services.store.state.close()


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as test_client:
        yield test_client


async def _send_all(
    apps: list[MockServer], method: str, path: str, count: int, **kwargs: object
) -> list[httpx.Response]:
    """``count`` requests at once, spread in turn over ``apps``."""
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) for app in apps]
    try:
        calls = [clients[n % len(clients)].request(method, path, **kwargs) for n in range(count)]  # type: ignore[arg-type]
        return list(await asyncio.gather(*calls))
    finally:
        for client in clients:
            await client.aclose()


def send_all(apps: list[MockServer], method: str, path: str, count: int, **kwargs: object) -> list[httpx.Response]:
    return asyncio.run(_send_all(apps, method, path, count, **kwargs))


def customer_calls(app: MockServer) -> int:
    stripe = app.services.stripe
    assert isinstance(stripe, FakeStripe)
    return sum(call.method == "create_customer" for call in stripe.calls)


def test_100_concurrent_calls_get_or_create_one_customer(app: MockServer) -> None:
    answers = send_all([app], "POST", "/billing", 100, headers=FREE, json=VALID_BODY)
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["stripeCustomerId"] for answer in answers}) == 1
    assert customer_calls(app) == 1


def test_two_apps_on_one_sqlite_file_keep_the_first_customer_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = make_app(url), make_app(url)
    answers = send_all([first, second], "POST", "/billing", 100, headers=FREE, json=VALID_BODY)
    assert {answer.status_code for answer in answers} == {200}
    customers = {answer.json()["stripeCustomerId"] for answer in answers}
    assert len(customers) == 1
    assert customer_calls(first) == customer_calls(second) == 1  # both asked Stripe; one answer was kept
    for app in (first, second):
        with TestClient(app, base_url=BASE_URL) as client:
            assert client.post("/billing", headers=FREE, json=VALID_BODY).json()["stripeCustomerId"] in customers


def session_path(client: TestClient, auth: dict[str, str] = FREE) -> str:
    answer = client.post("/billing", headers=auth, json=GROWTH)
    assert answer.status_code == 200, answer.text
    return httpx.URL(answer.json()["url"]).path


def test_a_session_is_paid_exactly_once_under_concurrent_pays(app: MockServer, client: TestClient) -> None:
    path = session_path(client)
    answers = send_all([app], "POST", path, 20, data={"action": "pay"})
    assert sorted(answer.status_code for answer in answers) == [303] + [409] * 19
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "paid"


def test_a_session_made_by_one_app_is_paid_once_through_either(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = make_app(url), make_app(url)
    with TestClient(first, base_url=BASE_URL) as client:
        path = session_path(client)
    answers = send_all([second, first], "POST", path, 20, data={"action": "pay"})
    assert sorted(answer.status_code for answer in answers) == [303] + [409] * 19
    with TestClient(first, base_url=BASE_URL) as client:
        assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "paid"


def test_reset_drops_changes_sessions_sticky_scenarios_the_clock_and_the_log(
    app: MockServer, client: TestClient
) -> None:
    path = session_path(client)
    client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402})
    app.services.store.clock.advance(dt.timedelta(hours=1))
    assert client.get("/account/organization", headers=PAID).status_code == 402

    assert client.post("/__mock__/reset").status_code == 200
    assert "stripeCustomerId" not in client.get("/account/organization", headers=FREE).json()
    assert client.get(path).status_code == 404
    assert client.get("/account/organization", headers=PAID).status_code == 200
    assert app.services.store.clock.now() == START
    logged = client.get("/__mock__/requests").json()["requests"]
    assert [entry["path"] for entry in logged] == [
        "/account/organization",
        path,
        "/account/organization",
        "/__mock__/reset",
    ]


def test_a_sticky_scenario_holds_until_turned_off(client: TestClient) -> None:
    assert client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402}).status_code == 200
    assert client.get("/account/organization", headers=PAID).status_code == 402
    assert client.get("/account/organization", headers=FREE).status_code == 200
    client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": "off"})
    assert client.get("/account/organization", headers=PAID).status_code == 200


def test_the_moved_clock_expires_sessions(app: MockServer, client: TestClient) -> None:
    path = session_path(client)
    app.services.store.clock.advance(dt.timedelta(hours=24))
    assert app.services.store.clock.now() == START + dt.timedelta(hours=24)
    assert client.post(path, data={"action": "pay"}, follow_redirects=False).status_code == 410


def test_the_request_log_keeps_the_most_recent_200_newest_first(client: TestClient) -> None:
    sent = [client.get("/account/organization", headers=FREE).headers["x-tracking-id"] for _ in range(205)]
    logged = client.get("/__mock__/requests", params={"limit": 200}).json()["requests"]
    assert [entry["trackingId"] for entry in logged] == sent[::-1][:200]
    assert logged[0]["organizationId"] == "org_free_demo" and logged[0]["status"] == 200


def test_past_the_cap_the_oldest_session_answers_as_unknown(app: MockServer, client: TestClient) -> None:
    app.services.store.state.max_sessions = 2
    paths = [session_path(client) for _ in range(3)]
    assert client.get(paths[0]).status_code == 404
    assert client.post(paths[1], data={"action": "pay"}, follow_redirects=False).status_code == 303
    assert client.get(paths[2], headers={"Accept": "text/html"}).status_code == 200
    assert list(stored(app).sessions()) == [path.rsplit("/", 1)[1] for path in paths[1:]]


def test_the_dashboard_shows_what_the_state_holds(app: MockServer, client: TestClient) -> None:
    path = session_path(client)
    client.post(path, data={"action": "pay"})
    client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402})
    page = client.get("/__mock__/", headers={"Accept": "text/html"}).text
    assert path.rsplit("/", 1)[1] in page and 'status-complete">complete' in page
    assert "failing with 402" in page
