"""POST /billing: get or create the Stripe customer, optionally a checkout session."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from billing_contract.excerpt import excerpt

from ..checkout import ATTEMPTS, location
from ..clock import format_timestamp
from ..errors import InvalidUrl, PriceNotFound, PriceWrongTier, ServerBusy
from ..fixtures import Price
from ..services import Services
from ..store import Sandbox
from ..stores import DEFAULT

SESSION_LIFETIME = dt.timedelta(hours=24)
MAX_URL_LENGTH = 2048
_TIERS = {"messagePriceId": "message", "budgetPriceId": "budget"}
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")  # what str.isspace() accepts, and control characters


def _check_url(field: str, value: str) -> None:
    """An absolute http(s) URL that Pay and Cancel can redirect to, checked before a session exists."""
    refused = InvalidUrl(
        f"{field} must be an absolute http(s) URL of at most {MAX_URL_LENGTH} characters, got {excerpt(value, 80)}."
    )
    if len(value) > MAX_URL_LENGTH or _UNSAFE.search(value):
        raise refused
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port out of range)
        location(value)  # what Pay and Cancel put in the Location header
    except (ValueError, InvalidUrl):  # a bracket left open, a port out of range, a lone surrogate
        raise refused from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise refused


def _price(services: Services, field: str, price_id: str) -> Price:
    price = services.store.prices.get(price_id)
    if price is None:
        raise PriceNotFound(f"No price with id {excerpt(price_id, 80)} ({field}).")
    tier = _TIERS[field]
    if price.tier != tier:
        raise PriceWrongTier(f"Price {price_id!r} is a {price.tier}-tier price; {field} needs a {tier}-tier price.")
    return price


async def _keep_customer(sandbox: Sandbox, user: str, customer_id: str) -> dict[str, Any]:
    """Store ``customer_id`` unless another process stored a customer first; the organization either way."""
    for _ in range(ATTEMPTS):
        read = await sandbox.get(user)
        if read.organization.get("stripeCustomerId"):
            return read.organization
        if await sandbox.swap(user, read, new := sandbox.changed(read, {"stripeCustomerId": customer_id})):
            return new
    raise ServerBusy(
        f"Organization {user} kept changing while its Stripe customer was stored.", fix="Retry in a moment."
    )


def checkout_url(base: str, session_id: str, sandbox: str) -> str:
    """Where the session's hosted checkout page is: it names the sandbox, so the page needs no header."""
    url = f"{base}/__mock__/checkout/{session_id}"
    return url if sandbox == DEFAULT else f"{url}?sandbox={sandbox}"


async def prepare_checkout_session(
    services: Services, *, user: str, body: dict[str, Any], origin: str, sandbox: Sandbox
) -> tuple[dict[str, Any], int]:
    _check_url("successUrl", body["successUrl"])
    _check_url("cancelUrl", body["cancelUrl"])
    prices = {field: _price(services, field, body[field]) for field in _TIERS if field in body}
    async with sandbox.lock(user):  # one Stripe call per organization in this process
        organization = (await sandbox.get(user)).organization
        if not organization.get("stripeCustomerId"):
            customer_id = await services.stripe.create_customer(
                organization_id=user, email=organization["creator"], name=organization["name"]
            )
            organization = await _keep_customer(sandbox, user, customer_id)
    answer = dict(organization)
    if prices:
        session_id = await services.stripe.create_checkout_session(
            organization_id=user,
            customer_id=organization["stripeCustomerId"],
            price_ids=[price.id for price in prices.values()],
            success_url=body["successUrl"],
            cancel_url=body["cancelUrl"],
        )
        now = sandbox.now
        url = checkout_url(services.settings.checkout_base_url or origin, session_id, sandbox.name)
        await sandbox.add_session(
            {
                "id": session_id,
                "organizationId": user,
                "customerId": organization["stripeCustomerId"],
                "priceIds": {field: price.id for field, price in prices.items()},
                "successUrl": body["successUrl"],
                "cancelUrl": body["cancelUrl"],
                "url": url,
                "status": "open",
                "createdAt": format_timestamp(now),
                "expiresAt": format_timestamp(now + SESSION_LIFETIME),
            }
        )
        answer.update(sessionId=session_id, url=url)
    return answer, 200
