"""--watch: edits of the fixtures folder are served without a restart; a broken edit keeps the old ones."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server import Settings, create_app
from mock_server.asgi import MockServer
from mock_server.clock import Clock
from mock_server.settings import DEFAULT_FIXTURES

from .conftest import BASE_URL, START, checkout_body

FREE = {"Authorization": "Bearer sk_test_free_org"}
PAID = {"Authorization": "Bearer sk_test_paid_org"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, copy)
    return copy


@pytest.fixture
def app(folder: Path) -> MockServer:
    return create_app(Settings(fixtures=folder, watch=True), clock=Clock(start=START))


@pytest.fixture
def client(app: MockServer) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as test_client:  # the lifespan starts the watch
        yield test_client


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "organizations.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def name(client: TestClient, headers: dict[str, str]) -> str:
    answer = client.get("/account/organization", headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["name"])


def wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_an_edit_is_served_and_what_the_state_holds_stays(app: MockServer, client: TestClient, folder: Path) -> None:
    client.post("/billing", headers=FREE, json=checkout_body(BASE_URL))  # the free organization is stored now
    edit(folder, "name: Lovelace Labs", "name: Lovelace Analytical")
    edit(folder, "name: Hopper Systems", "name: Hopper Compilers")
    assert wait_for(lambda: name(client, PAID) == "Hopper Compilers")  # never changed: the new fixture
    assert name(client, FREE) == "Lovelace Labs"  # changed since the fixtures: stored, kept
    assert name(client, {**FREE, "X-Mock-Sandbox": "fresh"}) == "Lovelace Analytical"  # a new sandbox
    client.post("/__mock__/reset")
    assert name(client, FREE) == "Lovelace Analytical"


def test_new_credentials_replace_the_old_ones(app: MockServer, client: TestClient, folder: Path) -> None:
    assert client.get("/account/organization", headers=PAID).status_code == 200  # remembered as valid
    edit(folder, "apiKey: sk_test_paid_org", "apiKey: sk_test_paid_org_v2")
    assert wait_for(lambda: client.get("/account/organization", headers=PAID).status_code == 401)
    assert name(client, {"Authorization": "Bearer sk_test_paid_org_v2"}) == "Hopper Systems"


@pytest.mark.parametrize(
    "broken",
    [
        "- label: [unclosed\n",  # not YAML
        "- organization: {organizationId: x}\n",  # an entry without credentials
        "",  # empty
    ],
)
def test_a_broken_edit_keeps_the_fixtures_before_and_says_why(
    app: MockServer, client: TestClient, folder: Path, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = (folder / "organizations.yaml").read_text()
    (folder / "organizations.yaml").write_text(broken)
    watch = app.services.watch
    assert watch is not None
    assert wait_for(lambda: watch.error is not None)
    assert name(client, PAID) == "Hopper Systems"
    page = client.get("/__mock__/", headers={"Accept": "text/html"}).text
    assert "were edited, but not reloaded" in page and "organizations.yaml" in page
    assert "not reloaded" in caplog.text
    (folder / "organizations.yaml").write_text(good.replace("Hopper Systems", "Hopper Again"))
    assert wait_for(lambda: watch.error is None and name(client, PAID) == "Hopper Again")
    assert "were edited, but not reloaded" not in client.get("/__mock__/", headers={"Accept": "text/html"}).text


def test_a_session_whose_price_is_gone_says_so(app: MockServer, client: TestClient, folder: Path) -> None:
    made = client.post("/billing", headers=FREE, json=checkout_body(BASE_URL, messagePriceId="price_message_growth"))
    prices = folder / "prices.yaml"
    prices.write_text(prices.read_text().replace("price_message_growth", "price_message_grown"))
    watch = app.services.watch
    assert watch is not None and asyncio.run(watch.check())
    refused = client.post(made.json()["url"], data={"action": "pay"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "checkout_price_gone")
    assert client.get("/account/organization", headers=FREE).json()["organizationType"] == "free"
