"""The checkout page and the dashboard on a phone (390 px wide), in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .live import LiveServer

pytestmark = [pytest.mark.socket, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
FREE = "sk_test_free_org"


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == PHONE["width"], f"the page scrolls sideways: {widths[0]} px wide"


def _across_the_screen(locator: Locator) -> None:
    """``locator`` lies within the screen's width (the page itself does not scroll sideways)."""
    box = locator.bounding_box()
    assert box is not None, locator
    assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (locator, box)


def test_the_checkout_fits_a_phone_and_pays(page: Page, live_server: LiveServer) -> None:
    session = live_server.checkout(FREE, messagePriceId="price_message_growth", budgetPriceId="price_budget_starter")
    page.set_viewport_size(PHONE)
    page.goto(session["url"])
    _no_sideways_scroll(page)

    amounts = page.locator('td[data-label="Amount"]')
    expect(amounts).to_have_text(["$99.00 / month", "$50.00 / month"])
    for index in range(2):
        _across_the_screen(amounts.nth(index))
    total = page.locator("tfoot td")
    expect(total).to_have_text("$149.00")
    _across_the_screen(total)
    _across_the_screen(page.locator("tfoot th"))

    pay = page.get_by_role("button", name="Pay $149.00")
    pay.scroll_into_view_if_needed()
    expect(pay).to_be_in_viewport()
    _across_the_screen(pay)
    pay.click()
    page.wait_for_url(f"{live_server.app_url}/billing/success?session_id={session['sessionId']}")
    assert live_server.organization(FREE)["organizationType"] == "paid"


_BROKEN_TOKENS = """() => [...document.querySelectorAll("main code")].filter(code => {
    const rects = code.getClientRects();
    const last = rects[rects.length - 1];
    const oneLine = rects.length === 1 || code.classList.contains("path");  // a path wraps after a slash
    return !oneLine || last.right > document.documentElement.clientWidth || code.textContent.trim() === ":";
}).map(code => code.textContent)"""
"""The ids and keys on more than one line, the codes past the screen's edge, and any lone colon."""


def _tokens(page: Page) -> Any:
    return page.evaluate(_BROKEN_TOKENS)


def test_the_dashboard_fits_a_phone_and_never_breaks_a_key(page: Page, live_server: LiveServer) -> None:
    session = live_server.checkout(FREE, messagePriceId="price_message_growth")
    page.set_viewport_size(PHONE)
    page.goto(session["url"])  # a long path in the request log
    live_server.organization("sk_test_downgrade_org")
    page.goto(f"{live_server.base_url}/__mock__/")
    expect(page.get_by_role("heading", name="Recent requests")).to_be_visible()
    _no_sideways_scroll(page)
    assert _tokens(page) == []

    row = page.locator("#org-org_downgrade_demo")
    expect(row.locator("code", has_text="sk_test_downgrade_org")).to_have_count(1)
    pair = row.locator(".credentials code")
    expect(pair).to_have_text(["sk_test_downgrade_org", "client_downgrade_org:", "secret_downgrade_org"])
    for code in ("sk_test_downgrade_org", "client_downgrade_org:"):  # the colon stays with the client id
        _across_the_screen(row.locator("code", has_text=code))

    control = page.get_by_label("Answer every call with (for Johnson Orbital)")
    control.select_option("402")
    apply = page.get_by_role("button", name="Apply to Johnson Orbital")
    _across_the_screen(apply)
    apply.click()
    expect(row).to_contain_text("failing with 402")
    _no_sideways_scroll(page)
    assert _tokens(page) == []
