"""The checkout journey and the dashboard in headless Chromium against a real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .live import LiveServer

pytestmark = [pytest.mark.socket, pytest.mark.browser]

FREE = "sk_test_free_org"
PAID = "sk_test_paid_org"
PAST_DUE = "sk_test_past_due_org"


def test_pay_upgrades_the_organization_and_lands_on_success_url(page: Page, live_server: LiveServer) -> None:
    session = live_server.checkout(FREE, messagePriceId="price_message_growth")
    page.goto(session["url"])
    expect(page.get_by_role("heading", name="Lovelace Labs")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Messages Growth")
    expect(page.get_by_role("table")).to_contain_text("$99.00")

    page.get_by_role("button", name="Pay $99.00").click()
    page.wait_for_url(f"{live_server.app_url}/billing/success?session_id={session['sessionId']}")
    expect(page.get_by_role("heading", name="The app")).to_be_visible()

    organization = live_server.organization(FREE)
    assert organization["organizationType"] == "paid"
    assert organization["messagesCap"] == 250000
    account = live_server.organization(FREE, full=True)
    assert account["subscriptionStatus"] == "active"
    assert account["stripeSubscriptionId"].startswith("sub_")

    page.goto(session["url"])  # back to the paid session
    expect(page.get_by_role("status")).to_contain_text("cannot be paid again")
    expect(page.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)


def test_cancel_returns_to_cancel_url_and_changes_nothing(page: Page, live_server: LiveServer) -> None:
    before = live_server.organization(PAST_DUE, full=True)
    session = live_server.checkout(PAST_DUE, messagePriceId="price_message_growth", budgetPriceId="price_budget_growth")
    page.goto(session["url"])
    expect(page.get_by_role("button", name="Pay $299.00")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{live_server.app_url}/billing/cancel")
    assert live_server.organization(PAST_DUE, full=True) == before


def test_a_lower_tier_paid_with_the_keyboard_applies_at_once(page: Page, live_server: LiveServer) -> None:
    before = live_server.organization(PAID, full=True)
    session = live_server.checkout(PAID, messagePriceId="price_message_starter")
    page.goto(session["url"])
    expect(page.get_by_role("table")).to_contain_text("(now 250,000)")

    pay = page.get_by_role("button", name="Pay $29.00")
    for _ in range(12):  # the Pay button is reachable with Tab and shows its focus
        page.keyboard.press("Tab")
        if pay.evaluate("button => button === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Pay button")
    outline = pay.evaluate("button => getComputedStyle(button).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.app_url}/billing/success?session_id={session['sessionId']}")

    after = live_server.organization(PAID, full=True)
    assert (before["messagesCap"], after["messagesCap"]) == (250000, 50000)
    assert not [field for field in after if field.startswith("pendingDowngrade")]


def test_dashboard_sticky_scenario_and_reset(page: Page, live_server: LiveServer) -> None:
    session = live_server.checkout(FREE, budgetPriceId="price_budget_starter")
    page.goto(f"{live_server.base_url}/__mock__/")
    expect(page.get_by_role("heading", name="Mock dashboard")).to_be_visible()
    expect(page.locator("#org-org_free_demo")).to_contain_text("sk_test_free_org")
    expect(page.get_by_role("link", name=session["sessionId"])).to_be_visible()

    row = page.locator("#org-org_free_demo")
    control = page.get_by_label("Answer every call with (for Lovelace Labs)")  # a label names each control
    control.select_option("402")
    page.get_by_role("button", name="Apply to Lovelace Labs").click()
    expect(row).to_contain_text("failing with 402")
    with live_server.client(FREE) as client:
        failed = client.get("/account/organization")
    assert failed.status_code == 402
    page.reload()
    expect(page.get_by_role("table").filter(has_text="trackingId")).to_contain_text(failed.headers["x-tracking-id"])

    control.select_option(label="the real answer")
    page.get_by_role("button", name="Apply to Lovelace Labs").click()
    expect(row).not_to_contain_text("failing with")
    assert live_server.organization(FREE)["organizationType"] == "free"

    page.get_by_role("button", name="Reset all state").click()
    expect(page.get_by_text("None yet")).to_be_visible()
    page.goto(session["url"])
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
