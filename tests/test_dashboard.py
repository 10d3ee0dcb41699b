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
        assert text in _shown(page.text)
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


def _shown(page: str) -> str:
    """The page without its line-break opportunities (``<wbr>``: a path may wrap after a slash)."""
    return page.replace("<wbr>", "")


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
    page = _shown(client.get("/__mock__/", headers=BROWSER).text)
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


def test_the_sessions_list_says_how_many_it_shows_of_how_many(client: TestClient) -> None:
    body = {"budgetPriceId": "price_budget_starter", **URLS}
    made = [client.post("/billing", headers=FREE, json=body).json()["sessionId"] for _ in range(53)]
    page = client.get("/__mock__/", headers=BROWSER).text
    sessions = page[page.index('id="sessions-title"') : page.index('id="requests-title"')]
    assert "The 50 most recent of 53 sessions kept" in sessions
    assert sessions.count('href="/__mock__/checkout/') == 50
    assert made[-1] in sessions and made[2] not in sessions
    requests = page[page.index('id="requests-title"') :]
    assert "The 50 most recent of 53 requests logged" in requests
    assert requests.count('<td data-label="Time"') == 50


def test_timestamps_read_as_relative_times_with_the_timestamp_on_hover() -> None:
    clock = Clock(start=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC))
    with TestClient(create_app(clock=clock), base_url="http://127.0.0.1:8080") as client:
        session = client.post("/billing", headers=FREE, json={"messagePriceId": "price_message_growth", **URLS}).json()
        clock.advance(dt.timedelta(minutes=3))
        page = client.get("/__mock__/", headers=BROWSER).text
        stored = client.get("/__mock__/requests").json()["requests"]
        checkout_page = client.get(session["url"], headers=BROWSER).text
    created = "2026-11-01T12:00:00.000Z"
    assert f'<time datetime="{created}" title="{created}">3 min ago</time>' in page
    expires = "2026-11-02T12:00:00.000Z"
    assert f'<time datetime="{expires}" title="{expires}">in 24 h</time>' in page  # 23 h 57 min, rounded
    assert f'expires <time datetime="{expires}" title="{expires}">in 24 h</time>' in checkout_page
    updated = "2026-10-15T10:30:00.000Z"  # the paid demo organization's, in the fixtures
    assert f'<time datetime="{updated}" title="{updated}">17 days ago</time>' in _row(page, "org_paid_demo")
    assert f'title="{stored[-1]["time"]}">just now</time>' in page  # the log's times are the wall clock's
    assert "Clock: <time" in page and "2026-11-01 12:03:00 UTC</time> (moved forward)" in page
    shown = re.sub(r"<[^>]*>", " ", page)  # the text, without the attributes
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", shown), "no raw ISO timestamp is shown"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (-9, "just now"),
        (42, "42 s ago"),
        (179, "3 min ago"),
        (-86399, "in 24 h"),
        (86400 * 2, "2 days ago"),
        (86400, "1 day ago"),
        (86400 * 70, "2 months ago"),
        (-86400 * 800, "in 2 years"),
    ],
)
def test_a_relative_time_is_rounded_in_the_largest_unit(seconds: float, said: str) -> None:
    from mock_server.pages import relative

    assert relative(seconds) == said


def test_a_stored_timestamp_that_is_no_timestamp_is_shown_escaped() -> None:
    from mock_server.pages import _ENV

    shown = _ENV.from_string("{{ value | ago(now) }}").render(value="<b>soon</b>", now=dt.datetime.now(dt.UTC))
    assert shown == "<span>&lt;b&gt;soon&lt;/b&gt;</span>"


@pytest.mark.socket
def test_in_proxy_mode_the_dashboard_shows_where_it_forwards_and_the_violations_first() -> None:
    from tests.test_proxy import ALPHA, proxied

    with proxied("unknown_enum") as client:
        broken = client.get("/account/organization", headers=ALPHA)
        kept = client.get("/account/organization", headers={"Authorization": "Bearer sk_nobody"})
        own = client.get("/no/such/route")  # the mock answers it itself
        page = _shown(client.get("/__mock__/", headers=BROWSER).text)
        upstream = client.app.services.settings.proxy
    assert broken.headers["x-contract-violation"] == "response_schema_conformance"
    assert "<h1>Proxy dashboard</h1>" in page
    assert "Proxying the API to <code" in page and upstream in page
    assert "1 of 2 forwarded answers broke the contract" in page
    for mock_only in (
        "sk_test_paid_org",
        "client_free_org",
        "Lovelace Labs",
        "Next calls",
        "/__mock__/sticky",
        "Checkout sessions",
        "Organizations",
    ):
        assert mock_only not in page, mock_only
    rows = {
        entry: page[page.index(entry) :].split("</tr>")[0]
        for entry in (broken.headers["x-tracking-id"], kept.headers["x-tracking-id"], own.headers["x-tracking-id"])
    }
    assert "response_schema_conformance" in rows[broken.headers["x-tracking-id"]]
    assert ">kept<" in rows[kept.headers["x-tracking-id"]]
    assert "not forwarded" in rows[own.headers["x-tracking-id"]] and "kept" not in rows[own.headers["x-tracking-id"]]
    assert page.index("Requests and violations") < page.index(broken.headers["x-tracking-id"])


@pytest.mark.socket
def test_in_proxy_mode_sticky_scenarios_are_refused_in_the_documented_body() -> None:
    from tests.test_proxy import ALPHA, proxied

    with proxied() as client:
        refused = client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402})
        page = client.post(
            "/__mock__/sticky", data={"organizationId": "org_paid_demo", "status": "402"}, headers=BROWSER
        )
        forwarded = client.get("/account/organization", headers=ALPHA)
        logged = client.get("/__mock__/requests").json()["requests"]
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert refused.json()["trackingId"] == refused.headers["x-tracking-id"]
    assert error["code"] == "unavailable_in_proxy_mode"
    assert "do not apply with --proxy" in error["message"] and "http://127.0.0.1:" in error["message"]
    assert "without --proxy" in error["fix"]
    assert page.status_code == 409 and "do not apply with --proxy" in page.text
    assert forwarded.status_code == 200, "the deployment answers, as before"
    sticky = [entry for entry in logged if entry["path"] == "/__mock__/sticky"]
    assert [entry["violations"] for entry in sticky] == [None, None], "not forwarded, not judged"
