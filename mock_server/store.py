"""The organization store: organizations, their credentials and checkout sessions.

An injected object, created by the app factory; ``reset()`` returns it to the
fixtures. Fixture organizations are never mutated: a change writes a new dict
into an overlay, so ``reset()`` is O(1) however many organizations there are.
Credentials are indexed by their SHA-256 digest and confirmed with
``hmac.compare_digest``, so a lookup neither grows with the store nor leaks
timing about the secret. The store keeps the :data:`MAX_SESSIONS` most recent
checkout sessions: the oldest is dropped when one more is made, and then
answers as an unknown one.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from .clock import Clock, format_timestamp
from .fixtures import Price, Tenant

__all__ = ["MAX_SESSIONS", "OrganizationStore", "Snapshot"]

MAX_SESSIONS = 10_000
"""Checkout sessions kept: about 1.2 KiB each, 5 KiB with the longest URLs (12 to 50 MB in all)."""
Sessions = collections.OrderedDict[str, dict[str, Any]]


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


class Snapshot(NamedTuple):
    changed: dict[str, dict[str, Any]]
    sessions: Sessions
    sticky: dict[str, int]
    locks: dict[str, asyncio.Lock]
    clock_offset: dt.timedelta


class OrganizationStore:
    def __init__(
        self,
        tenants: Iterable[Tenant],
        prices: dict[str, Price],
        clock: Clock | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.prices = prices
        self.clock = clock or Clock()
        self.max_sessions = max_sessions
        self.tenants: dict[str, Tenant] = {}
        self._bearer: dict[bytes, Tenant] = {}
        self._basic: dict[bytes, Tenant] = {}
        for tenant in tenants:
            self.tenants[tenant.organization_id] = tenant
            self._bearer[_digest(tenant.api_key)] = tenant
            self._basic[_digest(tenant.client_id)] = tenant
        self._changed: dict[str, dict[str, Any]] = {}
        self.sessions: Sessions = collections.OrderedDict()
        self.sticky: dict[str, int] = {}
        """organizationId -> a status its next calls answer (sticky scenarios)."""
        self._locks: dict[str, asyncio.Lock] = {}

    def reset(self) -> None:
        """Back to the fixtures: changes, sessions and the clock's offset are dropped, in one step.

        Each container is replaced, never cleared, so a :meth:`snapshot` taken before stays whole.
        """
        self.clock.reset()
        self._changed, self.sessions, self.sticky, self._locks = {}, collections.OrderedDict(), {}, {}

    def snapshot(self) -> Snapshot:
        """What :meth:`restore` needs to undo a :meth:`reset`."""
        return Snapshot(self._changed, self.sessions, self.sticky, self._locks, self.clock.offset)

    def restore(self, snapshot: Snapshot) -> None:
        self._changed, self.sessions, self.sticky = snapshot.changed, snapshot.sessions, snapshot.sticky
        self._locks = snapshot.locks
        self.clock.offset = snapshot.clock_offset

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
        changed = self._changed.get(organization_id)
        return changed if changed is not None else self.tenants[organization_id].organization

    def changed(self, organization_id: str, changes: dict[str, Any], remove: Iterable[str] = ()) -> dict[str, Any]:
        """The organization with ``changes`` applied, ``remove`` dropped and ``updatedAt`` moved; not saved."""
        organization = dict(self.get(organization_id))
        organization.update(changes)
        for field in remove:
            organization.pop(field, None)
        organization["updatedAt"] = format_timestamp(self.clock.now())
        return organization

    def save(self, organization_id: str, organization: dict[str, Any], *sessions: dict[str, Any]) -> None:
        """Store the organization and its sessions in one step: plain assignments, nothing left to fail."""
        self._changed[organization_id] = organization
        for session in sessions:
            self.add_session(session)

    def update(self, organization_id: str, changes: dict[str, Any], remove: Iterable[str] = ()) -> dict[str, Any]:
        """Apply ``changes``, drop ``remove`` and move ``updatedAt``; returns the new state."""
        organization = self.changed(organization_id, changes, remove)
        self.save(organization_id, organization)
        return organization

    def lock(self, organization_id: str) -> asyncio.Lock:
        """The lock that serialises read-modify-write of one organization."""
        lock = self._locks.get(organization_id)
        if lock is None:
            lock = self._locks[organization_id] = asyncio.Lock()
        return lock

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self.tenants.values())

    # checkout sessions -------------------------------------------------

    def add_session(self, session: dict[str, Any]) -> None:
        """Keep ``session`` (in its place if it is known); past the cap the oldest is dropped."""
        self.sessions[session["id"]] = session
        while len(self.sessions) > self.max_sessions:
            self.sessions.popitem(last=False)
