"""The hosted checkout: what paying, cancelling and expiring a session do.

A session is created by POST /billing (``store.add_session``) with status
``open``. Paying completes it and changes the organization; cancelling
changes nothing (the session stays open, as Stripe's does, until it is paid
or expires). A session expires 24 hours after it was created, on the store's
clock; a ``complete`` or ``expired`` session cannot be paid.

Paying applies each chosen price at once, except a *lower* price for a paid
organization: a price is lower when none of the caps it sets is above the
organization's current value and at least one is below. A lower price is
scheduled instead: the ``pendingDowngrade*`` fields say what the caps become
on ``anniversaryDate``, and the current caps stay. Paying a price that is not
lower drops any downgrade scheduled before.

Paying is all or nothing: everything that can fail (the prices, the plan, the
new organization, the redirect) is worked out first, and the organization and
the session are then saved in one step of the state, which pays a session once
however many processes share it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from urllib.parse import quote

from .errors import ApiError, InvalidUrl, ServerBusy
from .fixtures import CAP_FIELDS, Price
from .ids import new_id
from .store import OrganizationStore

__all__ = [
    "CheckoutError",
    "Outcome",
    "SessionClosed",
    "SessionExpired",
    "SessionNotFound",
    "as_of_now",
    "cancel",
    "current",
    "is_lower",
    "location",
    "pay",
    "session_prices",
    "success_url",
]

PENDING_FIELDS = {
    "messagesCap": "pendingDowngradeMessagesCap",
    "costCap": "pendingDowngradeCostCap",
    "smsCap": "pendingDowngradeSmsCap",
    "callCap": "pendingDowngradeCallCap",
}
PENDING_ALL = (*PENDING_FIELDS.values(), "pendingDowngradeEffectiveDate", "pendingDowngradeAccountType")
ATTEMPTS = 100
"""Tries of a Pay whose organization another process keeps changing under it."""
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
_LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"
"""What Starlette's RedirectResponse leaves unquoted in ``Location``."""


class CheckoutError(ApiError):
    """A checkout session cannot do what was asked."""


class SessionNotFound(CheckoutError):
    status_code = 404
    code = "checkout_session_not_found"
    default_message = "There is no checkout session with that id."
    fix = "Create a new session with POST /billing and open the url it answers (sessions are dropped on reset)."


class SessionClosed(CheckoutError):
    status_code = 409
    code = "checkout_session_complete"
    default_message = "This checkout session has already been paid."
    fix = "A session can be paid once; create a new one with POST /billing."


class SessionExpired(CheckoutError):
    status_code = 410
    code = "checkout_session_expired"
    default_message = "This checkout session has expired (sessions last 24 hours)."
    fix = "Create a new session with POST /billing."


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What paying did: the session and organization after it, and the tiers by effect."""

    session: dict[str, Any]
    organization: dict[str, Any]
    applied: tuple[str, ...]
    scheduled: tuple[str, ...]


def _parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp)


def current(store: OrganizationStore, session_id: str) -> dict[str, Any]:
    """The session as it stands now (an open session past ``expiresAt`` reads as ``expired``)."""
    session = store.session(session_id)
    if session is None:
        raise SessionNotFound(f"There is no checkout session {session_id[:80]!r}.")
    return as_of_now(store, session)


def as_of_now(store: OrganizationStore, session: dict[str, Any]) -> dict[str, Any]:
    """``session`` as it stands now: ``expired`` once open past ``expiresAt``."""
    if session["status"] == "open" and store.clock.now() >= _parse(session["expiresAt"]):
        return {**session, "status": "expired"}
    return session


def session_prices(store: OrganizationStore, session: dict[str, Any]) -> list[Price]:
    return [store.prices[price_id] for price_id in session["priceIds"].values()]


def _check_open(session: dict[str, Any]) -> None:
    name = f"Checkout session {session['id']}"
    if session["status"] == "complete":
        raise SessionClosed(f"{name} was paid at {session['completedAt']}; it cannot be paid twice.")
    if session["status"] == "expired":
        raise SessionExpired(f"{name} expired at {session['expiresAt']}; it cannot be paid.")


def is_lower(organization: dict[str, Any], price: Price) -> bool:
    """No cap the price sets goes up, and at least one goes down."""
    deltas = [value - organization.get(field, 0) for field, value in price.caps.items()]
    return all(delta <= 0 for delta in deltas) and any(delta < 0 for delta in deltas)


Plan = tuple[dict[str, Any], list[str], list[Price], list[Price]]


def _plan(organization: dict[str, Any], prices: list[Price]) -> Plan:
    """The changes, the fields to drop, the prices applied now and those scheduled."""
    paid = organization.get("organizationType") == "paid"
    later = [price for price in prices if paid and is_lower(organization, price)]
    now = [price for price in prices if price not in later]
    changes: dict[str, Any] = {"organizationType": "paid", "subscriptionStatus": "active"}
    for price in now:
        changes.update(price.caps)
    remove: list[str] = []
    if later:
        pending = {field: changes.get(field, organization.get(field, 0)) for field in CAP_FIELDS}
        for price in later:
            pending.update(price.caps)
        changes.update({PENDING_FIELDS[field]: value for field, value in pending.items()})
        changes["pendingDowngradeEffectiveDate"] = organization["anniversaryDate"]
        remove.append("pendingDowngradeAccountType")  # the schema knows only "free"; this one stays paid
    else:
        remove.extend(PENDING_ALL)
    if not organization.get("stripeSubscriptionId") or organization.get("subscriptionStatus") == "canceled":
        changes["stripeSubscriptionId"] = new_id("sub")
    return changes, remove, now, later


async def pay(store: OrganizationStore, session_id: str) -> Outcome:
    """Complete the session and change its organization; raises if it is not open.

    The lock keeps this process's Pays of one organization in turn; the state's
    :meth:`~mock_server.store.OrganizationStore.complete` pays the session exactly once, whichever
    process asks, and refuses a plan made on an organization another process has changed since.
    """
    organization_id = current(store, session_id)["organizationId"]
    async with store.lock(organization_id):
        for _ in range(ATTEMPTS):
            session = current(store, session_id)
            _check_open(session)
            prices = session_prices(store, session)
            before = store.get(organization_id)
            changes, remove, now, later = _plan(before, prices)
            organization = store.changed(organization_id, changes, remove=remove)
            session = {
                **session,
                "status": "complete",
                "completedAt": organization["updatedAt"],
                "subscriptionId": organization["stripeSubscriptionId"],
            }
            outcome = Outcome(session, organization, tuple(p.id for p in now), tuple(p.id for p in later))
            done = store.complete(session, organization_id, before, organization)
            if done == "paid":
                return outcome
            if done == "closed":  # another process paid it first
                _check_open(current(store, session_id))
                raise SessionClosed(f"Checkout session {session_id} was paid meanwhile; it cannot be paid twice.")
    raise ServerBusy(
        f"Organization {organization_id} kept changing while checkout session {session_id} was paid.",
        fix="Retry in a moment.",
    )


def cancel(store: OrganizationStore, session_id: str) -> dict[str, Any]:
    """Leave the checkout: nothing changes, whatever the session's status."""
    return current(store, session_id)


def success_url(session: dict[str, Any]) -> str:
    """``successUrl`` with ``{CHECKOUT_SESSION_ID}`` replaced by the session id, as Stripe does."""
    return str(session["successUrl"]).replace(SESSION_ID_PLACEHOLDER, session["id"])


def location(url: str) -> str:
    """``url`` as the ``Location`` header carries it: ASCII, the rest percent-encoded as UTF-8.

    Raises :class:`InvalidUrl` for text that cannot be encoded (a lone surrogate).
    """
    try:
        return quote(url, safe=_LOCATION_SAFE)
    except UnicodeEncodeError:
        raise InvalidUrl(f"{url[:200]!r} cannot be encoded as a URL.") from None
