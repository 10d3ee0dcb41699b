"""Pay, Cancel and reset either fully happen or change nothing; a URL they could not use is refused first."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import Settings
from mock_server.app import create_app
from mock_server.asgi import MockServer
from mock_server.checkout import location
from mock_server.clock import Clock
from mock_server.errors import InvalidUrl
from mock_server.stripe_stub import FakeStripe

from .conftest import START, checkout_body
from .redis_server import BACKENDS, state_url

APP = "http://app.example.com"
FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}


class Injected(RuntimeError):
    """The failure a test injects."""


def boom(*args: object, **kwargs: object) -> Any:
    raise Injected


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> MockServer:
    state = state_url(request.param, request, tmp_path)
    return create_app(Settings(state=state), clock=Clock(start=START))


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1:8080", raise_server_exceptions=False) as test_client:
        yield test_client


def fake_stripe(app: MockServer) -> FakeStripe:
    stripe = app.services.stripe
    assert isinstance(stripe, FakeStripe)
    return stripe


def everything(app: MockServer) -> Any:
    """Every piece of state a Pay, a Cancel or a reset could change."""
    store = app.services.store
    store.runner.drain()
    world = store.world()
    stripe_calls = list(fake_stripe(app).calls)
    return copy.deepcopy(
        (world.organizations(), world.sessions(), world.stickies(), stripe_calls, world.clock_offset())
    )


def request_log(app: MockServer) -> list[dict[str, Any]]:
    app.services.store.runner.drain()
    return app.services.store.world().recent(200)


def session_url(client: TestClient, auth: dict[str, str], **prices: str) -> str:
    answer = client.post("/billing", headers=auth, json=checkout_body(APP, **prices))
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return url


def act(client: TestClient, url: str, action: str) -> Any:
    return client.post(url, data={"action": action}, follow_redirects=False)


PAY_STEPS = [
    (FREE, "price_message_growth", "mock_server.browser.read_fields"),
    (FREE, "price_message_growth", "mock_server.checkout.current"),
    (FREE, "price_message_growth", "mock_server.checkout.success_url"),
    (FREE, "price_message_growth", "mock_server.checkout.location"),
    (FREE, "price_message_growth", "mock_server.browser.RedirectResponse"),
    (FREE, "price_message_growth", "mock_server.checkout._check_open"),
    (FREE, "price_message_growth", "mock_server.checkout.session_prices"),
    (FREE, "price_message_growth", "mock_server.checkout._plan"),
    (PAID, "price_message_starter", "mock_server.store.as_of"),  # billing time, on a paid organization
    (FREE, "price_message_growth", "mock_server.ids.Ids.new"),  # the first subscription
    (FREE, "price_message_growth", "mock_server.store.Sandbox.get"),
    (FREE, "price_message_growth", "mock_server.store.Sandbox.lock"),
    (FREE, "price_message_growth", "mock_server.store.Sandbox.changed"),
    (FREE, "price_message_growth", "mock_server.store.format_timestamp"),
    (FREE, "price_message_growth", "mock_server.checkout.Outcome"),
    (FREE, "price_message_growth", "mock_server.store.Sandbox.complete"),
]


@pytest.mark.parametrize(("auth", "price", "step"), PAY_STEPS, ids=[step.rsplit(".", 1)[1] for *_, step in PAY_STEPS])
def test_a_pay_that_fails_at_any_step_changes_nothing_and_can_be_retried(
    app: MockServer, client: TestClient, monkeypatch: pytest.MonkeyPatch, auth: dict[str, str], price: str, step: str
) -> None:
    url = session_url(client, auth, messagePriceId=price)
    before = everything(app)
    monkeypatch.setattr(step, boom)
    assert act(client, url, "pay").status_code == 500  # the injected failure was reached
    monkeypatch.undo()
    assert everything(app) == before

    paid = act(client, url, "pay")
    assert paid.status_code == 303
    assert paid.headers["location"].startswith(f"{APP}/billing/success?session_id=cs_test_")
    assert client.get("/account/organization", headers=auth).json()["organizationType"] == "paid"
    assert act(client, url, "pay").status_code == 409


@pytest.mark.parametrize(
    "step",
    [
        "mock_server.checkout.current",
        "mock_server.checkout.cancel",
        "mock_server.checkout.location",
        "mock_server.browser.RedirectResponse",
    ],
)
def test_a_cancel_that_fails_changes_nothing_and_can_be_retried(
    app: MockServer, client: TestClient, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    url = session_url(client, FREE, messagePriceId="price_message_growth")
    before = everything(app)
    monkeypatch.setattr(step, boom)
    assert act(client, url, "cancel").status_code == 500
    monkeypatch.undo()
    assert everything(app) == before
    cancelled = act(client, url, "cancel")
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, f"{APP}/billing/cancel")
    assert act(client, url, "pay").status_code == 303  # the session is still open


@pytest.mark.parametrize(
    "step",
    [
        "mock_server.store.OrganizationStore.reset",
        "world.reset",  # the backend's own
        "mock_server.stripe_stub.FakeStripe.reset",
        "mock_server.admin.JSONResponse",
    ],
)
def test_a_reset_that_fails_changes_nothing_and_can_be_retried(
    app: MockServer, client: TestClient, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    act(client, session_url(client, FREE, messagePriceId="price_message_growth"), "pay")
    session_url(client, PAID, budgetPriceId="price_budget_starter")
    client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402})
    app.services.store.clock.advance(dt.timedelta(hours=1))
    before, log = everything(app), request_log(app)

    if step == "world.reset":
        monkeypatch.setattr(type(app.services.store.world()), "reset", boom)
    else:
        monkeypatch.setattr(step, boom)
    assert client.post("/__mock__/reset").status_code == 500
    monkeypatch.undo()
    assert everything(app) == before
    assert request_log(app)[:-1] == log  # and the failed reset's own line

    assert client.post("/__mock__/reset").status_code == 200
    assert app.services.store.world().sessions() == {}
    assert list(fake_stripe(app).calls) == []
    assert app.services.store.clock.now() == START
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "free"
    assert client.get("/account/organization", headers=PAID).status_code == 200  # the sticky 402 is gone


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/billing/success",  # a bracket left open
        "http://app.example.com:99999/ok",  # no such port
        "http://app.example.com/ok\x00",
        "http://app.example.com/ok\x7f",
        "http://app.example.com/ok\x9b",
        f"http://app.example.com/{'a' * 2048}",
    ],
)
def test_a_url_pay_or_cancel_could_not_redirect_to_is_refused_before_a_session_exists(
    app: MockServer, client: TestClient, url: str
) -> None:
    for field in ("successUrl", "cancelUrl"):
        body = {**checkout_body(APP, messagePriceId="price_message_growth"), field: url}
        refused = client.post("/billing", headers=FREE, json=body)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "invalid_url"
        assert field in refused.json()["error"]["message"]
    assert app.services.store.world().sessions() == {}
    assert list(fake_stripe(app).calls) == []


def test_text_that_cannot_be_encoded_is_not_a_location() -> None:
    with pytest.raises(InvalidUrl):
        location("http://app.example.com/\ud800")
    assert location("http://app.example.com/ok?q=日本") == "http://app.example.com/ok?q=%E6%97%A5%E6%9C%AC"


def test_a_session_with_non_ascii_urls_shows_pays_and_cancels(client: TestClient) -> None:
    body = {
        "messagePriceId": "price_message_growth",
        "successUrl": f"{APP}/merci/réussi?id={{CHECKOUT_SESSION_ID}}",
        "cancelUrl": f"{APP}/キャンセル",
    }
    url = client.post("/billing", headers=FREE, json=body).json()["url"]
    assert client.get(url, headers={"Accept": "text/html"}).status_code == 200
    cancelled = act(client, url, "cancel")
    assert cancelled.headers["location"] == f"{APP}/%E3%82%AD%E3%83%A3%E3%83%B3%E3%82%BB%E3%83%AB"
    paid = act(client, url, "pay")
    assert paid.status_code == 303
    assert paid.headers["location"].startswith(f"{APP}/merci/r%C3%A9ussi?id=cs_test_")
