"""A narrow Stripe interface and the strict fake behind it.

The mock needs two calls: create a customer, create a checkout session. The
fake records the most recent calls (:data:`MAX_CALLS`), knows only the prices
of the catalog and raises :class:`~mock_server.errors.ProviderError` for
organizations set up to fail.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Protocol

from .errors import ProviderError
from .fixtures import Price
from .ids import Ids

__all__ = ["MAX_CALLS", "FakeStripe", "StripeCall", "StripeClient", "StripeFailure"]

MAX_CALLS = 1_000
"""Calls the fake keeps a record of, the most recent first to stay."""


class StripeFailure(ProviderError):
    """Stripe refused the call or could not be reached."""

    def __init__(self, provider_code: str) -> None:
        super().__init__(provider="stripe", provider_code=provider_code)


class StripeClient(Protocol):
    async def create_customer(self, *, organization_id: str, email: str, name: str) -> str:
        """Create a customer; returns its id (``cus_...``)."""
        ...

    async def create_checkout_session(
        self,
        *,
        organization_id: str,
        customer_id: str,
        price_ids: Sequence[str],
        success_url: str,
        cancel_url: str,
    ) -> str:
        """Create a checkout session; returns its id (``cs_test_...``)."""
        ...


@dataclasses.dataclass(frozen=True)
class StripeCall:
    method: str
    organization_id: str
    arguments: dict[str, object]


class FakeStripe:
    """In-memory Stripe: ids shaped like Stripe's, calls recorded, strict about prices."""

    def __init__(
        self, prices: Mapping[str, Price], failures: Mapping[str, str] | None = None, *, ids: Ids | None = None
    ) -> None:
        self.prices = prices
        self.ids = ids or Ids()
        self.failures = dict(failures or {})
        self.calls: collections.deque[StripeCall] = collections.deque(maxlen=MAX_CALLS)

    async def _call(self, method: str, organization_id: str, **arguments: object) -> None:
        await asyncio.sleep(0)  # a real client yields to the loop; so does the fake
        self.calls.append(StripeCall(method, organization_id, arguments))
        failure = self.failures.get(organization_id)
        if failure:
            raise StripeFailure(failure)

    async def create_customer(self, *, organization_id: str, email: str, name: str) -> str:
        await self._call("create_customer", organization_id, email=email, name=name)
        return self.ids.new("cus")

    async def create_checkout_session(
        self,
        *,
        organization_id: str,
        customer_id: str,
        price_ids: Sequence[str],
        success_url: str,
        cancel_url: str,
    ) -> str:
        unknown = [price for price in price_ids if price not in self.prices]
        if unknown or not price_ids:
            raise AssertionError(f"FakeStripe was not set up for prices {list(price_ids)!r}")
        await self._call(
            "create_checkout_session",
            organization_id,
            customer_id=customer_id,
            price_ids=list(price_ids),
            success_url=success_url,
            cancel_url=cancel_url,
        )
        return self.ids.new("cs_test", 24)

    def reset(self) -> None:
        self.calls = collections.deque(maxlen=MAX_CALLS)
