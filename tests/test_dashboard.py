"""The dashboard at /__mock__/ and its controls, in-process."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.clock import Clock
from mock_server.settings import Settings

FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
BROWSER = {"Accept": "text/html"}
URLS = {"successUrl": "http://app.example.com/ok", "cancelUrl": "http://app.example.com/no"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(clock=Clock(start=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)))
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        yield test_client


def test_the_dashboard_lists_organizations_sessions_and_requests(client: TestClient) -> None:
    session = client.post("/billing", headers=FREE, json={"messagePriceId": "price_message_growth", **URLS}).json()
    failed = client.get("/account/organization", headers={"Authorization": "Bearer sk_test_nope"})
    page = client.get("/__mock__/", headers=BROWSER)
    assert page.status_code == 200
    for text in (
        "Hopper Systems",
        "sk_test_paid_org",
        "client_paid_org",
        "secret_paid_org",
        "org_downgrade_demo",
        "from 2026-12-20",  # the scheduled downgrade
        session["sessionId"],
        "price_message_growth",
        "POST /billing",
        failed.headers["x-tracking-id"],
    ):
        assert text in page.text
    assert client.get("/__mock__", headers=BROWSER).status_code == 200


def test_sticky_scenario_fails_the_next_calls_until_cleared(client: TestClient) -> None:
    form = client.post(
        "/__mock__/sticky", data={"organizationId": "org_paid_demo", "status": "402"}, follow_redirects=False
    )
    assert form.status_code == 303
    assert form.headers["location"] == "/__mock__/#org-org_paid_demo"
    for _ in range(2):
        answer = client.get("/account/organization", headers=PAID)
        assert answer.status_code == 402
        assert answer.json()["trackingId"] == answer.headers["x-tracking-id"]
    assert client.post("/billing", headers=PAID, json=URLS).status_code == 402
    assert client.get("/account/organization", headers=FREE).status_code == 200  # other organizations answer
    assert "failing with 402" in client.get("/__mock__/", headers=BROWSER).text

    cleared = client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": "off"})
    assert cleared.json() == {"organizationId": "org_paid_demo", "status": None}
    assert client.get("/account/organization", headers=PAID).status_code == 200


def test_the_sticky_control_offers_the_statuses_every_operation_documents(client: TestClient) -> None:
    page = client.get("/__mock__/", headers=BROWSER).text
    for status in ("400", "401", "402", "500", "502"):
        assert f'<option value="{status}"' in page
    refused = client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 418})
    assert refused.status_code == 400
    assert "400, 401, 402, 500, 502" in refused.json()["error"]["message"]
    unknown = client.post("/__mock__/sticky", data={"organizationId": "org_nope", "status": "402"}, headers=BROWSER)
    assert unknown.status_code == 400
    assert "org_nope" in unknown.text and "Back to the dashboard" in unknown.text


def test_reset_returns_everything_to_the_fixtures(client: TestClient) -> None:
    session = client.post("/billing", headers=FREE, json={"messagePriceId": "price_message_growth", **URLS}).json()
    client.post(session["url"], data={"action": "pay"}, follow_redirects=False)
    client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 500})
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "paid"

    reset = client.post("/__mock__/reset", data={}, headers={"content-type": "application/x-www-form-urlencoded"})
    assert reset.status_code == 200  # followed the 303 back to the dashboard
    assert str(reset.url).endswith("/__mock__/")
    assert session["sessionId"] not in reset.text
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "free"
    assert client.get("/account/organization", headers=PAID).status_code == 200
    assert client.get(session["url"], headers=BROWSER).status_code == 404
    assert client.post("/__mock__/reset").json()["status"] == "reset"  # the JSON answer is unchanged


def test_off_loopback_the_dashboard_needs_the_token_but_checkout_pages_do_not() -> None:
    app = create_app(Settings(host="0.0.0.0", admin_token="s3cret"))
    with TestClient(app, base_url="http://127.0.0.1:8080") as test_client:
        session = test_client.post(
            "/billing", headers=FREE, json={"messagePriceId": "price_message_growth", **URLS}
        ).json()
        assert test_client.get("/__mock__/").status_code == 403
        assert test_client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo"}).status_code == 403
        assert test_client.get("/__mock__/", headers={"X-Admin-Token": "s3cret"}).status_code == 200
        assert test_client.get(session["url"], headers=BROWSER).status_code == 200
        assert test_client.get("/__mock__/static/style.css").status_code == 200


_fields = st.dictionaries(
    st.sampled_from(["action", "organizationId", "status", "x", ""]),
    st.one_of(st.text(max_size=12), st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=2)),
    max_size=3,
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=_fields, as_json=st.booleans(), browser=st.booleans(), target=st.sampled_from(["checkout", "sticky"]))
def test_no_form_or_json_body_gets_a_server_error(
    client: TestClient, fields: dict[str, object], as_json: bool, browser: bool, target: str
) -> None:
    path = "/__mock__/sticky"
    if target == "checkout":
        path = client.post("/billing", headers=FREE, json={"budgetPriceId": "price_budget_starter", **URLS}).json()[
            "url"
        ]
    headers = BROWSER if browser else {}
    if as_json:
        response = client.post(path, json=fields, headers=headers, follow_redirects=False)
    else:
        form = {key: str(value) for key, value in fields.items()}
        response = client.post(path, data=form, headers=headers, follow_redirects=False)
    assert response.status_code in (200, 303, 400, 415), response.text
    if response.status_code >= 400 and not browser:
        assert response.json()["error"]["code"]


def _row(page: str, organization_id: str) -> str:
    found = re.search(rf'<tr id="org-{organization_id}">(.*?)</tr>', page, re.DOTALL)
    assert found, organization_id
    return found.group(1)


def test_each_organization_shows_its_current_plan_after_an_upgrade(client: TestClient) -> None:
    before = _row(client.get("/__mock__/", headers=BROWSER).text, "org_free_demo")
    assert "Free, unverified, no Stripe customer yet" in before
    session = client.post("/billing", headers=FREE, json={"messagePriceId": "price_message_growth", **URLS}).json()
    assert client.post(session["url"], data={"action": "pay"}, follow_redirects=False).status_code == 303
    after = _row(client.get("/__mock__/", headers=BROWSER).text, "org_free_demo")
    assert "Paid, unverified, subscription active" in after
    assert "Free" not in after and "no Stripe customer" not in after
    stripe_failing = _row(client.get("/__mock__/", headers=BROWSER).text, "org_stripe_error_demo")
    assert "every Stripe call fails (api_connection_error)" in stripe_failing


def test_browser_noise_stays_out_of_the_request_list(client: TestClient) -> None:
    page = client.get("/__mock__/", headers=BROWSER).text
    assert '<link rel="icon" href="data:' in page  # so browsers do not ask for /favicon.ico
    for path in ("/favicon.ico", "/apple-touch-icon.png", "/ui/", "/openapi.json", "/.well-known/security.txt", "/ui"):
        client.get(path, headers=BROWSER)
    client.get("/uid", headers=FREE)
    client.get("/accounts/organization", headers=FREE)  # a typo of the app under test is worth seeing
    listed = client.get("/account/organization", headers=FREE)
    page = client.get("/__mock__/", headers=BROWSER).text
    requests = page[page.index('id="requests-title"') :]
    assert listed.headers["x-tracking-id"] in requests
    assert "GET /accounts/organization" in requests and "GET /uid" in requests
    for noise in (
        "favicon",
        "apple-touch-icon",
        "GET /ui<",
        "GET /ui/<",
        "openapi.json",
        ".well-known",
        "GET /__mock__/<",
    ):
        assert noise not in requests, noise
    assert "/favicon.ico" in [entry["path"] for entry in client.get("/__mock__/requests").json()["requests"]]


def test_a_browser_opening_the_root_is_sent_to_the_dashboard(client: TestClient) -> None:
    for method in ("GET", "HEAD"):
        sent = client.request(
            method, "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, follow_redirects=False
        )
        assert sent.status_code == 302, method
        assert sent.headers["location"] == "/__mock__/"
    followed = client.get("/", headers=BROWSER, follow_redirects=True)
    assert followed.status_code == 200 and "Mock dashboard" in followed.text
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):  # API clients, curl
        answer = client.get("/", headers=headers, follow_redirects=False)
        assert answer.status_code == 404, headers
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["code"] == "not_found"
        assert answer.json()["trackingId"] == answer.headers["x-tracking-id"]
    assert client.post("/", headers=BROWSER, follow_redirects=False).status_code in (404, 405)
    assert client.get("/index.html", headers=BROWSER, follow_redirects=False).status_code == 404
