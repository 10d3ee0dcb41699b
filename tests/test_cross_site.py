"""The /__mock__/ routes that change state refuse what another site makes a browser send."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock
from mock_server.settings import Settings

from .conftest import START, checkout_body, organization, stored

OWN = "http://127.0.0.1:8080"
FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}
FORM = {"content-type": "application/x-www-form-urlencoded"}

CROSS_SITE = {
    "a page of another site": {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    "Origin only": {"Origin": "http://evil.example"},
    "Sec-Fetch-Site only": {"Sec-Fetch-Site": "cross-site"},
    "a sandboxed page or a file": {"Origin": "null"},
    "a sibling subdomain": {"Sec-Fetch-Site": "same-site"},
    "another port": {"Origin": "http://127.0.0.1:3000"},
    "another scheme": {"Origin": "https://127.0.0.1:8080"},
}
SAME_SITE = {
    "curl or a script": {},
    "the mock's own page": {"Origin": OWN, "Sec-Fetch-Site": "same-origin"},
    "typed in the address bar": {"Sec-Fetch-Site": "none"},
}


@pytest.fixture
def app() -> MockServer:
    return create_app(Settings(), clock=Clock(start=START))


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=OWN) as test_client:
        session_url(test_client)  # so that a reset shows
        yield test_client


def session_url(client: TestClient) -> str:
    url: str = client.post(
        "/billing", headers=FREE, json=checkout_body("http://app.example.com", messagePriceId="price_message_growth")
    ).json()["url"]
    return url


def pay(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post(session_url(client), data={"action": "pay"}, headers=headers, follow_redirects=False)


def sticky(client: TestClient, headers: dict[str, str]) -> Any:
    data = {"organizationId": "org_paid_demo", "status": "500"}
    return client.post("/__mock__/sticky", data=data, headers=headers, follow_redirects=False)


def reset(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post("/__mock__/reset", headers={**FORM, **headers}, follow_redirects=False)


def changed(app: MockServer) -> list[str]:
    """What a pay, a sticky scenario and a reset would have changed."""
    world = stored(app)
    done = []
    if organization(app, "org_free_demo")["organizationType"] == "paid":
        done.append("paid")
    if world.stickies():
        done.append("sticky")
    if not world.sessions():
        done.append("reset")
    return done


ACTIONS: dict[str, Callable[[TestClient, dict[str, str]], Any]] = {"pay": pay, "sticky": sticky, "reset": reset}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE)
def test_a_request_from_another_site_is_refused_and_changes_nothing(
    app: MockServer, client: TestClient, action: str, headers: dict[str, str]
) -> None:
    refused = ACTIONS[action](client, headers)
    assert refused.status_code == 403
    body = refused.json()
    assert body["error"]["code"] == "cross_site_refused"
    assert body["trackingId"] == refused.headers["x-tracking-id"]
    assert "another site" in body["error"]["message"] and body["error"]["fix"]
    assert changed(app) == []


@pytest.mark.parametrize("action", ACTIONS)
def test_a_browser_gets_the_refusal_as_a_page(app: MockServer, client: TestClient, action: str) -> None:
    refused = ACTIONS[action](client, {**CROSS_SITE["a page of another site"], "Accept": "text/html"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "cross_site_refused" in refused.text and "another site" in refused.text
    assert changed(app) == []


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("headers", SAME_SITE.values(), ids=SAME_SITE)
def test_the_mock_s_own_pages_and_scripts_still_change_state(
    app: MockServer, client: TestClient, action: str, headers: dict[str, str]
) -> None:
    answer = ACTIONS[action](client, headers)
    assert answer.status_code == 303, answer.text
    assert changed(app) == [{"pay": "paid", "sticky": "sticky", "reset": "reset"}[action]]


def test_reading_is_never_refused(client: TestClient) -> None:
    url = session_url(client)
    for path in (url, "/__mock__/", "/__mock__/health", "/__mock__/requests"):
        assert client.get(path, headers=CROSS_SITE["a page of another site"]).status_code == 200, path


def test_the_public_checkout_base_url_counts_as_the_mock_s_own_origin() -> None:
    app = create_app(Settings(checkout_base_url="https://mock.example.com"), clock=Clock(start=START))
    with TestClient(app, base_url=OWN) as client:
        headers = {"Origin": "https://mock.example.com", "Sec-Fetch-Site": "same-origin"}
        assert pay(client, headers).status_code == 303
        assert sticky(client, {"Origin": "https://other.example.com"}).status_code == 403
    assert changed(app) == ["paid"]
