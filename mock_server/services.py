"""What the handlers need, built once by the app factory and injected."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, Protocol

from .scenarios import Scenarios
from .settings import Settings
from .spec import ApiSpec
from .store import OrganizationStore
from .stores import DEFAULT, REQUEST_LOG_SIZE
from .stripe_stub import StripeClient

if TYPE_CHECKING:
    from billing_contract.drift import Drift

    from .sandboxes import Sandboxes
    from .upstream import Upstream
    from .watch import FixtureWatch

__all__ = ["Recorder", "Services", "REQUEST_LOG_SIZE"]


class Recorder(Protocol):
    """``--record DIR``: what the proxy tells of each 2xx answer (:class:`mock_server.recording.Recording`)."""

    def observe(
        self, credential: tuple[str, str | tuple[str, str]], operation: str, request_body: Any, status: int, body: Any
    ) -> None: ...

    def close(self) -> None:
        """At shutdown: what was observed is written (a bounded wait)."""


@dataclasses.dataclass
class Services:
    settings: Settings
    spec: ApiSpec
    store: OrganizationStore
    stripe: StripeClient
    scenarios: Scenarios
    organization_fields: tuple[str, ...]
    started: float = dataclasses.field(default_factory=time.monotonic)
    upstream: Upstream | None = None
    """``--proxy``: the deployment the API's operations are forwarded to (mock_server.upstream)."""
    recording: Recorder | None = None
    """``--record DIR``: where the proxy's 2xx answers are written as fixtures."""
    drift: Drift | None = None
    """``--proxy``: what the deployment's answers did that the document does not say (GET /__mock__/drift)."""
    sandboxes: Sandboxes = dataclasses.field(init=False)
    """The named sandboxes (set by the app factory)."""
    watch: FixtureWatch | None = None
    """``--watch``: the fixtures folder, read again when it changes."""

    async def request_log(self, sandbox: str = DEFAULT, count: int = REQUEST_LOG_SIZE) -> list[dict[str, Any]]:
        """The sandbox's most recent requests, the oldest first."""
        return await (await self.store.sandbox(sandbox)).recent(count)

    async def reset(self, sandbox: str = DEFAULT) -> None:
        """Back to the fixtures: organizations, sessions, sticky scenarios, the clock, the request log.

        All or nothing: for the default sandbox, Stripe's record, the one part that cannot be put
        back, is reset last, inside the state's reset; if anything fails, nothing is reset.
        """
        before_commit = getattr(self.stripe, "reset", None) if sandbox == DEFAULT else None
        await self.store.reset(sandbox, before_commit)
