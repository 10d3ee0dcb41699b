"""What the handlers need, built once by the app factory and injected."""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any

from .scenarios import Scenarios
from .settings import Settings
from .spec import ApiSpec
from .store import OrganizationStore
from .stripe_stub import StripeClient

__all__ = ["Services", "REQUEST_LOG_SIZE"]

REQUEST_LOG_SIZE = 200


@dataclasses.dataclass
class Services:
    settings: Settings
    spec: ApiSpec
    store: OrganizationStore
    stripe: StripeClient
    scenarios: Scenarios
    organization_fields: tuple[str, ...]
    request_log: collections.deque[dict[str, Any]] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=REQUEST_LOG_SIZE)
    )
    started: float = dataclasses.field(default_factory=time.monotonic)

    def reset(self) -> None:
        """Back to the fixtures: organizations, sessions, Stripe's record, the request log.

        All or nothing: if a part fails to reset, the parts reset before it are put back.
        Stripe's goes last, as the one part that cannot be put back.
        """
        saved, log = self.store.snapshot(), self.request_log
        try:
            self.store.reset()
            self.request_log = collections.deque(maxlen=REQUEST_LOG_SIZE)
            reset_stripe = getattr(self.stripe, "reset", None)
            if reset_stripe is not None:
                reset_stripe()
        except BaseException:
            self.store.restore(saved)
            self.request_log = log
            raise
