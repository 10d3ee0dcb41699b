"""Sandboxes: isolated worlds on one mock, named by a header or by credentials of their own, on every backend."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock

from .conftest import BASE_URL, START, checkout_body
from .redis_server import BACKENDS, state_url

FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
BROWSER = {"Accept": "text/html"}


def named(sandbox: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "X-Mock-Sandbox": sandbox}


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MockServer]:
    app = create_app(Settings(state=state_url(request.param, request, tmp_path)), clock=Clock(start=START))
    yield app
    app.services.store.close()


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


def pay_free(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    """POST /billing with a price for the free organization, then Pay on its page: the session's answer."""
    made = client.post(
        "/billing", headers={**FREE, **headers}, json=checkout_body(BASE_URL, messagePriceId="price_message_growth")
    )
    assert made.status_code == 200, made.text
    session: dict[str, Any] = made.json()
    paid = client.post(session["url"], data={"action": "pay"}, follow_redirects=False)  # no header: the url names it
    assert paid.status_code == 303, paid.text
    return session


def plan(client: TestClient, headers: dict[str, str]) -> str:
    answer = client.get("/account/organization", headers={**FREE, **headers})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["organizationType"])


def test_a_sandbox_named_by_the_header_changes_nothing_elsewhere(client: TestClient) -> None:
    session = pay_free(client, named("alpha"))
    assert session["url"].endswith("?sandbox=alpha")
    assert plan(client, named("alpha")) == "paid"
    assert plan(client, {}) == "free"
    assert plan(client, named("beta")) == "free"
    assert client.get(session["url"].split("?")[0]).status_code == 404  # the session is alpha's only

    client.post("/__mock__/sticky", json={"organizationId": "org_paid_demo", "status": 402}, headers=named("beta"))
    assert client.get("/account/organization", headers=named("beta", PAID)).status_code == 402
    assert client.get("/account/organization", headers=named("alpha", PAID)).status_code == 200
    assert client.get("/account/organization", headers=PAID).status_code == 200

    alpha_log = client.get("/__mock__/requests", headers=named("alpha")).json()["requests"]
    assert {entry["path"] for entry in alpha_log} >= {"/billing", "/account/organization"}
    assert all(entry["path"] != "/__mock__/sticky" for entry in alpha_log)

    assert client.post("/__mock__/reset", headers=named("alpha")).json()["sandbox"] == "alpha"
    assert plan(client, named("alpha")) == "free"
    assert client.get("/account/organization", headers=named("beta", PAID)).status_code == 402  # beta keeps its own
    listed = {found["name"] for found in client.get("/__mock__/sandboxes").json()["sandboxes"]}
    assert listed == {"alpha", "beta"}


def test_a_sandboxs_own_credentials_need_no_header_and_work_nowhere_else(client: TestClient) -> None:
    made = client.post("/__mock__/sandboxes", json={"name": "ci-job-7"})
    assert made.status_code == 201, made.text
    sandbox = made.json()
    assert (sandbox["name"], sandbox["hasCredentials"]) == ("ci-job-7", True)
    keys = {found["organizationId"]: found for found in sandbox["organizations"]}
    assert len(keys) == 8
    free = keys["org_free_demo"]
    bearer = {"Authorization": f"Bearer {free['apiKey']}"}
    pair = base64.b64encode(f"{free['clientId']}:{free['clientSecret']}".encode()).decode()
    basic = {"Authorization": f"Basic {pair}"}

    pay_free(client, bearer)
    assert client.get("/account/organization", headers=basic).json()["organizationType"] == "paid"
    assert plan(client, named("ci-job-7")) == "paid"  # the same sandbox, by its name
    assert plan(client, {}) == "free"

    elsewhere = client.get("/account/organization", headers={**bearer, "X-Mock-Sandbox": "other"})
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (401, "invalid_credentials")
    swapped = base64.b64encode(f"{free['clientId']}:secret_free_org".encode()).decode()
    assert client.get("/account/organization", headers={"Authorization": f"Basic {swapped}"}).status_code == 401
    one_changed = free["apiKey"][:-1] + ("0" if free["apiKey"][-1] != "0" else "1")
    assert client.get("/account/organization", headers={"Authorization": f"Bearer {one_changed}"}).status_code == 401

    assert client.delete("/__mock__/sandboxes/ci-job-7").status_code == 204
    assert client.get("/account/organization", headers=bearer).status_code == 401
    assert client.delete("/__mock__/sandboxes/ci-job-7").json()["error"]["code"] == "sandbox_not_found"


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        (("POST", "/__mock__/sandboxes", {"json": {"name": "a b"}}), 400, "validation_error"),
        (("POST", "/__mock__/sandboxes", {"json": {"name": "x" * 65}}), 400, "validation_error"),
        (("POST", "/__mock__/sandboxes", {"json": {"name": 7}}), 400, "validation_error"),
        (("POST", "/__mock__/sandboxes", {"json": {"name": "default"}}), 409, "sandbox_exists"),
        (("GET", "/account/organization", {"headers": named("bad/name", FREE)}), 400, "validation_error"),
        (("GET", "/account/organization", {"headers": named("", FREE)}), 400, "validation_error"),
        (("DELETE", "/__mock__/sandboxes/default", {}), 400, "validation_error"),
        (("PUT", "/__mock__/sandboxes", {}), 405, "method_not_allowed"),
    ],
)
def test_bad_sandbox_requests_get_the_error_body(client: TestClient, request_: Any, status: int, code: str) -> None:
    method, path, kwargs = request_
    answer = client.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code and answer.json()["trackingId"] == answer.headers["x-tracking-id"]
    assert client.get("/__mock__/sandboxes").json()["count"] == 0


def test_a_name_taken_is_refused_and_a_generated_name_is_given(client: TestClient) -> None:
    assert client.post("/__mock__/sandboxes", json={"name": "taken"}).status_code == 201
    assert client.post("/__mock__/sandboxes", json={"name": "taken"}).json()["error"]["code"] == "sandbox_exists"
    generated = client.post("/__mock__/sandboxes").json()["name"]
    assert generated.startswith("sbx-") and generated != "taken"


def test_an_idle_sandbox_expires_and_the_limit_is_a_429_naming_the_setting(tmp_path: Path) -> None:
    app = create_app(Settings(sandbox_ttl=60, max_sandboxes=2), clock=Clock(start=START))
    wall = [1_000_000.0]
    app.services.sandboxes._wall = lambda: wall[0]
    with TestClient(app, base_url=BASE_URL) as client:
        credentials = client.post("/__mock__/sandboxes", json={"name": "one"}).json()["organizations"][0]["apiKey"]
        pay_free(client, named("two"))
        wall[0] += 30
        full = client.get("/account/organization", headers=named("three", FREE))
        assert (full.status_code, full.json()["error"]["code"]) == (429, "sandbox_limit_reached")
        assert "--max-sandboxes" in full.json()["error"]["message"] and full.headers["retry-after"] == "30"
        wall[0] += 31  # one and two idle past the TTL
        assert plan(client, named("three")) == "free"
        assert (
            client.get("/account/organization", headers={"Authorization": f"Bearer {credentials}"}).status_code == 401
        )
        assert plan(client, named("two")) == "free"  # made anew: what it held is gone
        assert {found["name"] for found in client.get("/__mock__/sandboxes").json()["sandboxes"]} == {"two", "three"}


def test_the_dashboard_lists_sandboxes_and_shows_one_at_a_time(client: TestClient) -> None:
    pay_free(client, named("alpha"))
    client.get("/account/organization", headers=named("beta", FREE))
    page = client.get("/__mock__/", headers=BROWSER).text
    assert "?sandbox=alpha" in page and "?sandbox=beta" in page
    alpha = client.get("/__mock__/?sandbox=alpha", headers=BROWSER).text
    assert "sandbox <code" in alpha and "alpha" in alpha
    assert 'action="/__mock__/reset?sandbox=alpha"' in alpha and "Reset this sandbox" in alpha
    assert "status-complete" in alpha  # alpha's paid session, not on the default dashboard
    assert "status-complete" not in page


def test_cors_lets_a_browser_app_send_the_header(client: TestClient) -> None:
    preflight = client.options(
        "/account/organization",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-mock-sandbox",
        },
    )
    assert preflight.status_code == 200
    assert "x-mock-sandbox" in preflight.headers["access-control-allow-headers"].lower()
