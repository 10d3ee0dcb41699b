"""POST /billing: get-or-create, checkout sessions, prices, provider failures."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.clock import Clock
from mock_server.spec import ApiSpec
from mock_server.stripe_stub import FakeStripe

from .conftest import BASE_URL, VALID_BODY, bearer, organization, stored

FREE = bearer("sk_test_free_org")
PAID = bearer("sk_test_paid_org")


def _post(client: TestClient, headers: dict[str, str], **extra: str) -> httpx.Response:
    return client.post("/billing", headers=headers, json={**VALID_BODY, **extra})


def test_first_call_creates_the_customer_and_later_calls_get_it(
    client: TestClient, spec: ApiSpec, clock: Clock
) -> None:
    before = client.get("/account/organization", headers=FREE).json()
    clock.advance(dt.timedelta(minutes=5))
    first = _post(client, FREE)
    assert first.status_code == 200
    body = first.json()
    assert not list(spec.validator("BillingResponse").iter_errors(body))
    assert body["stripeCustomerId"].startswith("cus_")
    assert body["updatedAt"] == "2026-11-20T12:05:00.000Z" != before["updatedAt"]
    assert "sessionId" not in body and "url" not in body
    again = _post(client, FREE).json()
    assert again["stripeCustomerId"] == body["stripeCustomerId"]
    assert again["updatedAt"] == body["updatedAt"]
    after = client.get("/account/organization", headers=FREE).json()
    assert after["updatedAt"] == body["updatedAt"]
    assert {key: body[key] for key in after} == after


def test_an_existing_customer_is_kept(client: TestClient) -> None:
    body = _post(client, PAID).json()
    assert body["stripeCustomerId"] == "cus_PaidDem0Cust0m"
    assert body["subscriptionStatus"] == "active"


@pytest.mark.parametrize(
    "prices",
    [
        {"messagePriceId": "price_message_starter"},
        {"budgetPriceId": "price_budget_starter"},
        {"messagePriceId": "price_message_growth", "budgetPriceId": "price_budget_growth"},
    ],
)
def test_a_price_gives_a_checkout_session(app, client: TestClient, prices: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    answer = _post(client, FREE, **prices)
    assert answer.status_code == 200
    body = answer.json()
    assert body["sessionId"].startswith("cs_test_")
    url = urlsplit(body["url"])
    assert url.scheme in ("http", "https") and url.netloc
    assert url.path == f"/__mock__/checkout/{body['sessionId']}"
    session = stored(app).sessions()[body["sessionId"]]
    assert session["organizationId"] == "org_free_demo"
    assert session["priceIds"] == prices
    assert session["customerId"] == body["stripeCustomerId"]


def test_the_session_url_follows_the_host_the_request_came_in_on(client: TestClient) -> None:
    answer = client.post(
        "/billing",
        headers={**FREE, "Host": "127.0.0.1:9123"},
        json={**VALID_BODY, "messagePriceId": "price_message_starter"},
    )
    assert answer.json()["url"].startswith("http://127.0.0.1:9123/__mock__/checkout/cs_test_")


def test_checkout_base_url_setting_overrides_the_host() -> None:
    app = create_app(Settings(checkout_base_url="https://mock.example.test"))
    with TestClient(app, base_url=BASE_URL) as client:
        body = _post(client, FREE, budgetPriceId="price_budget_starter").json()
    assert body["url"] == f"https://mock.example.test/__mock__/checkout/{body['sessionId']}"


@pytest.mark.parametrize(
    ("prices", "code"),
    [
        ({"messagePriceId": "price_budget_starter"}, "price_wrong_tier"),
        ({"budgetPriceId": "price_message_starter"}, "price_wrong_tier"),
        ({"messagePriceId": "price_does_not_exist"}, "price_not_found"),
        ({"budgetPriceId": ""}, "price_not_found"),
        ({"messagePriceId": "price_message_starter", "budgetPriceId": "price_message_growth"}, "price_wrong_tier"),
    ],
)
def test_unknown_or_wrong_tier_prices_are_400_and_change_nothing(
    app,
    client: TestClient,
    prices: dict[str, str],
    code: str,  # type: ignore[no-untyped-def]
) -> None:
    answer = _post(client, FREE, **prices)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert "stripeCustomerId" not in organization(app, "org_free_demo")
    assert stored(app).sessions() == {}


@pytest.mark.parametrize(
    "field_value",
    [
        ("successUrl", "not a url"),
        ("cancelUrl", "/relative/path"),
        ("successUrl", "ftp://example.com/x"),
        ("cancelUrl", ""),
    ],
)
def test_urls_must_be_absolute_http(client: TestClient, field_value: tuple[str, str]) -> None:
    field, value = field_value
    answer = _post(client, FREE, **{field: value})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_url"
    assert field in answer.json()["error"]["message"]


def test_a_stripe_failure_is_a_502_naming_the_provider_and_changes_nothing(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    before = organization(app, "org_stripe_error_demo")
    answer = _post(client, bearer("sk_test_stripe_error_org"), messagePriceId="price_message_starter")
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert (error["code"], error["provider"], error["providerCode"]) == (
        "provider_error",
        "stripe",
        "api_connection_error",
    )
    assert organization(app, "org_stripe_error_demo") is before
    assert stored(app).sessions() == {}


def test_one_hundred_concurrent_calls_create_exactly_one_customer(app) -> None:  # type: ignore[no-untyped-def]
    stripe = app.services.stripe
    assert isinstance(stripe, FakeStripe)

    async def hammer() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
            return await asyncio.gather(*(http.post("/billing", headers=FREE, json=VALID_BODY) for _ in range(100)))

    answers = asyncio.run(hammer())
    assert [answer.status_code for answer in answers] == [200] * 100
    assert len({answer.json()["stripeCustomerId"] for answer in answers}) == 1
    assert [call.method for call in stripe.calls] == ["create_customer"]
