"""The hosted checkout: what paying, cancelling and expiring a session do.

A session is created by POST /billing (``Sandbox.add_session``) with status
``open``, in the sandbox of the request. Paying completes it and changes the
organization; cancelling changes nothing (the session stays open, as Stripe's
does, until it is paid or expires). A session expires 24 hours after it was
created, on its sandbox's clock; a ``complete`` or ``expired`` session cannot be
paid.

Paying applies each chosen price at once: the organization is paid, its
subscription active, its caps those the prices set; a downgrade scheduled before
(the ``pendingDowngrade*`` fields) is dropped. (The document gives a pending
downgrade one account type, ``free``: a change between paid tiers is never
pending.)

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
from .fixtures import Price
from .ids import Ids
from .lifecycle import PENDING
from .store import Sandbox

__all__ = [
    "CheckoutError",
    "Outcome",
    "SessionClosed",
    "SessionExpired",
    "SessionNotFound",
    "PriceGone",
    "as_of_now",
    "cancel",
    "current",
    "location",
    "pay",
    "session_prices",
    "success_url",
]

PENDING_ALL = (*PENDING.values(), "pendingDowngradeEffectiveDate", "pendingDowngradeAccountType")
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


class PriceGone(CheckoutError):
    status_code = 409
    code = "checkout_price_gone"
    default_message = "A price of this checkout session is no longer in the price catalog."
    fix = "The fixtures changed (--watch): create a new session with POST /billing."


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What paying did: the session and organization after it, and the prices applied."""

    session: dict[str, Any]
    organization: dict[str, Any]
    applied: tuple[str, ...]


def _parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp)


async def current(sandbox: Sandbox, session_id: str) -> dict[str, Any]:
    """The session as it stands now (an open session past ``expiresAt`` reads as ``expired``)."""
    session = await sandbox.session(session_id)
    if session is None:
        raise SessionNotFound(f"There is no checkout session {session_id[:80]!r}.")
    return as_of_now(sandbox.now, session)


def as_of_now(now: dt.datetime, session: dict[str, Any]) -> dict[str, Any]:
    """``session`` as it stands at ``now``: ``expired`` once open past ``expiresAt``."""
    if session["status"] == "open" and now >= _parse(session["expiresAt"]):
        return {**session, "status": "expired"}
    return session


def session_prices(prices: dict[str, Price], session: dict[str, Any]) -> list[Price]:
    """The session's prices; :class:`PriceGone` when the catalog no longer has one (``--watch``)."""
    found = [prices.get(price_id) for price_id in session["priceIds"].values()]
    missing = [price_id for price_id, price in zip(session["priceIds"].values(), found, strict=True) if price is None]
    if missing:
        raise PriceGone(f"The price catalog no longer has {', '.join(missing)[:200]}, which this session was for.")
    return [price for price in found if price is not None]


def _check_open(session: dict[str, Any]) -> None:
    name = f"Checkout session {session['id']}"
    if session["status"] == "complete":
        raise SessionClosed(f"{name} was paid at {session['completedAt']}; it cannot be paid twice.")
    if session["status"] == "expired":
        raise SessionExpired(f"{name} expired at {session['expiresAt']}; it cannot be paid.")


def _plan(organization: dict[str, Any], prices: list[Price], ids: Ids) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The changes paying ``prices`` makes, and the fields it drops."""
    changes: dict[str, Any] = {"organizationType": "paid", "subscriptionStatus": "active"}
    for price in prices:
        changes.update(price.caps)
    if not organization.get("stripeSubscriptionId") or organization.get("subscriptionStatus") == "canceled":
        changes["stripeSubscriptionId"] = ids.new("sub")
    return changes, PENDING_ALL


async def pay(sandbox: Sandbox, session_id: str) -> Outcome:
    """Complete the session and change its organization; raises if it is not open.

    The lock keeps this process's Pays of one organization in turn; the state's
    :meth:`~mock_server.store.Sandbox.complete` pays the session exactly once, whichever
    process asks, and refuses a plan made on an organization another process has changed since.
    """
    organization_id = (await current(sandbox, session_id))["organizationId"]
    async with sandbox.lock(organization_id):
        for _ in range(ATTEMPTS):
            session = await current(sandbox, session_id)
            _check_open(session)
            prices = session_prices(sandbox.store.prices, session)
            before = await sandbox.get(organization_id)
            changes, remove = _plan(before.organization, prices, sandbox.store.ids)
            organization = sandbox.changed(before, changes, remove=remove)
            session = {
                **session,
                "status": "complete",
                "completedAt": organization["updatedAt"],
                "subscriptionId": organization["stripeSubscriptionId"],
            }
            outcome = Outcome(session, organization, tuple(price.id for price in prices))
            done = await sandbox.complete(session, organization_id, before, organization)
            if done == "paid":
                return outcome
            if done == "closed":  # another process paid it first
                _check_open(await current(sandbox, session_id))
                raise SessionClosed(f"Checkout session {session_id} was paid meanwhile; it cannot be paid twice.")
    raise ServerBusy(
        f"Organization {organization_id} kept changing while checkout session {session_id} was paid.",
        fix="Retry in a moment.",
    )


async def cancel(sandbox: Sandbox, session_id: str) -> dict[str, Any]:
    """Leave the checkout: nothing changes, whatever the session's status."""
    return await current(sandbox, session_id)


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
