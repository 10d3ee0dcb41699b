"""The organization store: organizations, their credentials and checkout sessions.

An injected object, created by the app factory; ``reset()`` returns it to the
fixtures. The fixture organizations and their credentials stay in this process;
what changes (organizations, checkout sessions, sticky scenarios, the clock's
offset, the request log) lives in a :class:`~mock_server.stores.State`, in
memory or shared (docs/state.md). Fixture organizations are never mutated: a
change stores a new dict, so ``reset()`` is O(1) however many organizations
there are. Credentials are indexed by their SHA-256 digest and confirmed with
``hmac.compare_digest``, so a lookup neither grows with the store nor leaks
timing about the secret. The state keeps the :data:`MAX_SESSIONS` most recent
checkout sessions: the oldest is dropped when one more is made, and then
answers as an unknown one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .clock import Clock, format_timestamp
from .fixtures import Price, Tenant
from .stores import MAX_SESSIONS, Completion, MemoryState, State

__all__ = ["MAX_SESSIONS", "OrganizationStore"]


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


class OrganizationStore:
    def __init__(
        self,
        tenants: Iterable[Tenant],
        prices: dict[str, Price],
        clock: Clock | None = None,
        state: State | None = None,
    ) -> None:
        self.prices = prices
        self.state: State = state if state is not None else MemoryState()
        self.clock = clock or Clock()
        self.clock.bind(self.state)
        self.tenants: dict[str, Tenant] = {}
        self._bearer: dict[bytes, Tenant] = {}
        self._basic: dict[bytes, Tenant] = {}
        for tenant in tenants:
            self.tenants[tenant.organization_id] = tenant
            self._bearer[_digest(tenant.api_key)] = tenant
            self._basic[_digest(tenant.client_id)] = tenant
        self._locks: dict[str, asyncio.Lock] = {}

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        """Back to the fixtures: changes, sessions, sticky scenarios, the clock's offset and the log, in one step.

        ``before_commit`` runs inside that step: if it raises, nothing is reset.
        """
        self.state.reset(before_commit)
        self._locks = {}

    def __len__(self) -> int:
        return len(self.tenants)

    # credentials -------------------------------------------------------

    def by_api_key(self, api_key: str) -> str | None:
        tenant = self._bearer.get(_digest(api_key))
        if tenant is None or not _same(tenant.api_key, api_key):
            return None
        return tenant.organization_id

    def by_basic(self, client_id: str, client_secret: str) -> str | None:
        tenant = self._basic.get(_digest(client_id))
        if tenant is None or not _same(tenant.client_secret, client_secret):
            return None
        return tenant.organization_id

    # organizations -----------------------------------------------------

    def get(self, organization_id: str) -> dict[str, Any]:
        """The organization as POST /billing shows it (do not mutate)."""
        changed = self.state.organization(organization_id)
        return changed if changed is not None else self.tenants[organization_id].organization

    def changed(self, organization_id: str, changes: dict[str, Any], remove: Iterable[str] = ()) -> dict[str, Any]:
        """The organization with ``changes`` applied, ``remove`` dropped and ``updatedAt`` moved; not saved."""
        organization = dict(self.get(organization_id))
        organization.update(changes)
        for field in remove:
            organization.pop(field, None)
        organization["updatedAt"] = format_timestamp(self.clock.now())
        return organization

    def _stored(self, organization_id: str, read: dict[str, Any]) -> dict[str, Any] | None:
        """What the state held when :meth:`get` answered ``read`` (None: the fixture)."""
        return None if read is self.tenants[organization_id].organization else read

    def swap(self, organization_id: str, read: dict[str, Any], new: dict[str, Any]) -> bool:
        """Store ``new`` if the organization is still what :meth:`get` answered (``read``); False if not."""
        return self.state.swap_organization(organization_id, self._stored(organization_id, read), new)

    def lock(self, organization_id: str) -> asyncio.Lock:
        """The lock that serialises read-modify-write of one organization in this process."""
        lock = self._locks.get(organization_id)
        if lock is None:
            lock = self._locks[organization_id] = asyncio.Lock()
        return lock

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self.tenants.values())

    # checkout sessions -------------------------------------------------

    def session(self, session_id: str) -> dict[str, Any] | None:
        return self.state.session(session_id)

    def add_session(self, session: dict[str, Any]) -> None:
        """Keep ``session`` (in its place if it is known); past the cap the oldest is dropped."""
        self.state.add_session(session)

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """Every session kept, the oldest first (do not mutate)."""
        return self.state.sessions()

    def complete(
        self, session: dict[str, Any], organization_id: str, read: dict[str, Any], new: dict[str, Any]
    ) -> Completion:
        """Store the paid ``session`` and ``new`` in one step, if the session is open and the organization
        still what :meth:`get` answered (``read``)."""
        return self.state.complete_session(session, organization_id, self._stored(organization_id, read), new)

    # sticky scenarios --------------------------------------------------

    @property
    def sticky(self) -> dict[str, int]:
        """organizationId -> the status its next calls answer (a copy)."""
        return self.state.stickies()
