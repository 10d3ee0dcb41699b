"""Two browser contexts at once, as two Playwright workers: each sends X-Mock-Sandbox with every request
(extraHTTPHeaders) and pays its own copy of the free organization; neither sees the other's."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from .conftest import CHROMIUM, CHROMIUM_FLAGS, _require_browser
from .live import LiveServer

pytestmark = [pytest.mark.socket, pytest.mark.browser]

FREE = {"Authorization": "Bearer sk_test_free_org"}


def worker(live_server: LiveServer, sandbox: str) -> dict[str, Any]:
    """One Playwright worker: its own browser, a context with the sandbox's header, the checkout journey."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(extra_http_headers={"X-Mock-Sandbox": sandbox})
            context.set_default_timeout(15_000)
            api = context.request  # the app's own API calls, as a frontend makes them, with the same headers
            made = api.post(
                f"{live_server.base_url}/billing",
                headers=FREE,
                data={
                    "messagePriceId": "price_message_growth",
                    "successUrl": f"{live_server.app_url}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
                    "cancelUrl": f"{live_server.app_url}/billing/cancel",
                },
            ).json()
            page = context.new_page()
            page.goto(made["url"])
            page.get_by_role("button", name="Pay $99.00").click()
            page.wait_for_url(f"{live_server.app_url}/billing/success?session_id={made['sessionId']}")
            seen: dict[str, Any] = api.get(f"{live_server.base_url}/account/organization", headers=FREE).json()
            return seen
        finally:
            browser.close()


def test_two_browser_contexts_in_parallel_each_pay_their_own_free_organization(live_server: LiveServer) -> None:
    _require_browser()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        seen = list(pool.map(lambda name: worker(live_server, name), ["worker-1", "worker-2"]))
    assert [organization["organizationType"] for organization in seen] == ["paid", "paid"]
    default = httpx.get(f"{live_server.base_url}/account/organization", headers=FREE).json()
    assert default["organizationType"] == "free"
    third = httpx.get(f"{live_server.base_url}/account/organization", headers={**FREE, "X-Mock-Sandbox": "worker-3"})
    assert third.json()["organizationType"] == "free"
    for name in ("worker-1", "worker-2"):
        sessions = live_server.app.services.store.world(name).sessions()
        assert [session["status"] for session in sessions.values()] == ["complete"]
