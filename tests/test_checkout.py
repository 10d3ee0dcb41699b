"""The checkout journey in-process: POST /billing, the hosted page, Pay, Cancel, expiry, downgrade."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.clock import Clock
from mock_server.settings import Settings

from .conftest import checkout_body

START = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
APP = "http://app.example.com"
FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
PAST_DUE = {"Authorization": "Bearer sk_test_past_due_org"}
DOWNGRADE = {"Authorization": "Bearer sk_test_downgrade_org"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START)


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(clock=clock), base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


def billing(client: TestClient, auth: dict[str, str], **prices: str) -> dict[str, Any]:
    response = client.post("/billing", headers=auth, json=checkout_body(APP, **prices))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def act(client: TestClient, url: str, action: str, **headers: str) -> Any:
    return client.post(url, data={"action": action}, headers=headers, follow_redirects=False)


def test_the_url_is_served_on_the_host_and_port_of_the_request(client: TestClient) -> None:
    session = billing(client, FREE, messagePriceId="price_message_growth")
    assert session["url"] == f"http://127.0.0.1:8080/__mock__/checkout/{session['sessionId']}"
    other = client.post(
        "/billing",
        headers={**FREE, "Host": "localhost:5173"},
        json={"messagePriceId": "price_message_growth", "successUrl": APP, "cancelUrl": APP},
    ).json()
    assert other["url"].startswith("http://localhost:5173/__mock__/checkout/cs_test_")


def test_checkout_base_url_overrides_the_request_host(clock: Clock) -> None:
    app = create_app(Settings(checkout_base_url="https://mock.example.com"), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        session = billing(test_client, FREE, budgetPriceId="price_budget_starter")
    assert session["url"] == f"https://mock.example.com/__mock__/checkout/{session['sessionId']}"


def test_the_page_shows_the_organization_the_prices_and_two_buttons(client: TestClient) -> None:
    session = billing(client, FREE, messagePriceId="price_message_growth", budgetPriceId="price_budget_starter")
    page = client.get(session["url"], headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ("Lovelace Labs", "Messages Growth", "SMS &amp; Calls Starter", "250,000", "$99.00", "$50.00"):
        assert text in page.text
    assert "Pay $149.00" in page.text
    assert 'value="cancel"' in page.text
    assert client.get("/__mock__/static/style.css").headers["content-type"].startswith("text/css")


def test_price_ids_wrap_only_as_whole_ids(client: TestClient) -> None:
    session = billing(client, FREE, messagePriceId="price_message_growth", budgetPriceId="price_budget_starter")
    page = client.get(session["url"], headers=BROWSER).text
    for price_id in ("price_message_growth", "price_budget_starter"):
        classes = re.search(rf'<code class="([^"]*)">{price_id}</code>', page)
        assert classes, price_id
        assert "token" in classes.group(1).split()
    stylesheet = client.get("/__mock__/static/style.css").text
    rule = re.search(r"\.token \{([^}]*)\}", stylesheet)
    assert rule and "white-space: nowrap" in rule.group(1) and "overflow-wrap: normal" in rule.group(1)


def test_pay_upgrades_the_organization_and_returns_to_success_url(client: TestClient, clock: Clock) -> None:
    session = billing(client, FREE, messagePriceId="price_message_growth", budgetPriceId="price_budget_starter")
    clock.advance(dt.timedelta(minutes=5))
    paid = act(client, session["url"], "pay")
    assert paid.status_code == 303
    assert paid.headers["location"] == f"{APP}/billing/success?session_id={session['sessionId']}"

    organization = client.get("/account/organization", headers=FREE).json()
    assert organization["organizationType"] == "paid"
    assert (organization["messagesCap"], organization["costCap"], organization["smsCap"], organization["callCap"]) == (
        250000,
        50,
        2000,
        200,
    )
    assert organization["updatedAt"] == "2026-11-01T12:05:00.000Z"
    account = billing(client, FREE)
    assert account["subscriptionStatus"] == "active"
    assert account["stripeSubscriptionId"].startswith("sub_")
    assert account["stripeCustomerId"] == session["stripeCustomerId"]


def test_a_paid_session_cannot_be_paid_twice(client: TestClient, clock: Clock) -> None:
    session = billing(client, FREE, messagePriceId="price_message_starter")
    assert act(client, session["url"], "pay").status_code == 303
    before = client.get("/account/organization", headers=FREE).json()
    clock.advance(dt.timedelta(minutes=1))

    again = act(client, session["url"], "pay", accept="text/html")
    assert again.status_code == 409
    assert "cannot be paid twice" in again.text
    assert act(client, session["url"], "pay").json()["error"]["code"] == "checkout_session_complete"
    page = client.get(session["url"], headers=BROWSER)
    assert "Already paid" in page.text
    assert 'value="pay"' not in page.text
    assert client.get("/account/organization", headers=FREE).json() == before


def test_cancel_changes_nothing_and_returns_to_cancel_url(client: TestClient, clock: Clock) -> None:
    session = billing(client, PAST_DUE, messagePriceId="price_message_growth")
    before = billing(client, PAST_DUE)
    clock.advance(dt.timedelta(minutes=5))
    cancelled = act(client, session["url"], "cancel")
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"{APP}/billing/cancel"
    assert billing(client, PAST_DUE) == before
    # as on Stripe, the session stays open: the user may come back and pay
    assert act(client, session["url"], "pay").status_code == 303


def test_a_session_expires_after_24_hours_on_the_clock(client: TestClient, clock: Clock) -> None:
    session = billing(client, FREE, messagePriceId="price_message_growth")
    clock.advance(dt.timedelta(hours=23, minutes=59))
    assert 'value="pay"' in client.get(session["url"], headers=BROWSER).text
    clock.advance(dt.timedelta(minutes=1))

    page = client.get(session["url"], headers=BROWSER)
    assert "has expired" in page.text
    assert 'value="pay"' not in page.text
    refused = act(client, session["url"], "pay")
    assert refused.status_code == 410
    assert refused.json()["error"]["code"] == "checkout_session_expired"
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "free"


def test_a_lower_tier_for_a_paid_organization_applies_at_once_with_nothing_pending(
    client: TestClient, clock: Clock
) -> None:
    """The document gives a pending downgrade one account type (free): a change between paid tiers is never
    pending, so every pendingDowngrade* field stays absent."""
    before = billing(client, PAID)
    session = billing(client, PAID, messagePriceId="price_message_starter")
    assert "A lower tier" not in client.get(session["url"], headers=BROWSER).text
    clock.advance(dt.timedelta(minutes=5))
    assert act(client, session["url"], "pay").status_code == 303

    after = billing(client, PAID)
    assert before["messagesCap"] == 250000 and after["messagesCap"] == 50000
    assert after["costCap"] == before["costCap"]  # the budget tier was not part of this checkout
    assert not [field for field in after if field.startswith("pendingDowngrade")]
    assert after["organizationType"] == "paid"
    assert after["stripeSubscriptionId"] == before["stripeSubscriptionId"]
    assert after["updatedAt"] == "2026-11-01T12:05:00.000Z"


def test_paying_a_higher_tier_applies_it_now_and_drops_a_scheduled_downgrade(client: TestClient) -> None:
    assert billing(client, DOWNGRADE)["pendingDowngradeAccountType"] == "free"
    session = billing(client, DOWNGRADE, messagePriceId="price_message_growth")
    act(client, session["url"], "pay")
    after = billing(client, DOWNGRADE)
    assert after["messagesCap"] == 250000
    assert after["costCap"] == 50  # the budget tier was not part of this checkout
    assert not [field for field in after if field.startswith("pendingDowngrade")]


@pytest.mark.parametrize(
    ("method", "path", "data", "headers", "status", "code"),
    [
        ("GET", "/__mock__/checkout/cs_test_unknown", None, {}, 404, "checkout_session_not_found"),
        ("POST", "/__mock__/checkout/cs_test_unknown", {"action": "pay"}, {}, 404, "checkout_session_not_found"),
        ("POST", "{url}", {"action": "refund"}, {}, 400, "validation_error"),
        ("POST", "{url}", {"button": "pay"}, {}, 400, "validation_error"),
        ("POST", "{url}", None, {}, 415, "unsupported_media_type"),
        ("POST", "{url}", "action=pay&&=", {"content-type": "application/x-www-form-urlencoded"}, 400, None),
        ("POST", "{url}", "action=pay", {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        ("POST", "{url}", b"action=\xff", {"content-type": "application/x-www-form-urlencoded"}, 400, None),
        ("PUT", "{url}", None, {}, 405, "method_not_allowed"),
    ],
)
def test_bad_input_gets_a_clear_error(
    client: TestClient,
    method: str,
    path: str,
    data: Any,
    headers: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    session = billing(client, FREE, messagePriceId="price_message_growth")
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if isinstance(data, dict):
        kwargs["data"] = data
    elif data is not None:
        kwargs["content"] = data
    response = client.request(method, path.format(url=session["url"]), **kwargs)
    assert response.status_code == status
    body = response.json()
    assert body["trackingId"] == response.headers["x-tracking-id"]
    assert body["error"]["message"] and body["error"]["fix"]
    if code:
        assert body["error"]["code"] == code
    html = client.request(method, path.format(url=session["url"]), **{**kwargs, "headers": {**headers, **BROWSER}})
    assert html.status_code == status
    if status != 405:
        assert html.headers["content-type"].startswith("text/html")
        assert body["error"]["code"] in html.text
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "free"


def test_two_pays_at_once_complete_the_session_once(clock: Clock) -> None:
    app = create_app(clock=clock)

    async def race() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
            made = await client.post(
                "/billing",
                headers=FREE,
                json={"messagePriceId": "price_message_growth", "successUrl": APP, "cancelUrl": APP},
            )
            url = made.json()["url"]
            answers = await asyncio.gather(*(client.post(url, data={"action": "pay"}) for _ in range(2)))
        return sorted(answer.status_code for answer in answers)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own loop, whatever runs in this thread
        assert pool.submit(asyncio.run, race()).result() == [303, 409]
