"""Screenshots of the checkout page and the dashboard, as the README shows them.

``make screenshots`` (UPDATE_SCREENSHOTS=1) writes them to docs/; otherwise
they go to a temporary folder, so the pages are still rendered and checked.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .live import LiveServer

pytestmark = [pytest.mark.socket, pytest.mark.browser]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _folder(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_screenshot_of_the_checkout_page(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    session = live_server.checkout(
        "sk_test_free_org", messagePriceId="price_message_growth", budgetPriceId="price_budget_starter"
    )
    page.set_viewport_size({"width": 1000, "height": 760})
    page.goto(session["url"])
    expect(page.get_by_role("button", name="Pay $149.00")).to_be_visible()
    target = _folder(tmp_path) / "checkout.png"
    page.screenshot(path=str(target), full_page=True)
    width, height = _png_size(target)
    assert width == 1000 and height >= 600


def test_screenshot_of_the_dashboard(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    paid = live_server.checkout("sk_test_free_org", messagePriceId="price_message_growth")
    page.goto(paid["url"])
    page.get_by_role("button", name="Pay $99.00").click()
    page.wait_for_url(f"{live_server.app_url}/**")
    live_server.checkout("sk_test_paid_org", budgetPriceId="price_budget_starter")
    with live_server.client() as client:
        client.post("/__mock__/sticky", json={"organizationId": "org_blocked_demo", "status": 402})
    with live_server.client("sk_test_blocked_org") as client:
        assert client.get("/account/organization").status_code == 402
    with live_server.client("sk_test_wrong_key") as client:
        assert client.get("/account/organization").status_code == 401

    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.base_url}/__mock__/")
    expect(page.get_by_role("heading", name="Recent requests")).to_be_visible()
    target = _folder(tmp_path) / "dashboard.png"
    page.screenshot(path=str(target), full_page=True)
    width, height = _png_size(target)
    assert width == 1400 and height >= 900
