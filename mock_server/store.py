"""The organization store: the fixtures, their credentials, and the state of every sandbox.

An injected object, created by the app factory. The fixture organizations and
their credentials stay in this process; what changes lives in a
:class:`~mock_server.stores.State`, in memory or shared (docs/state.md), per
sandbox: organizations changed since the fixtures, checkout sessions, sticky
scenarios, the clock's offset, the request log. A request works on one sandbox
through a :class:`Sandbox` (``await store.sandbox(name)``): its time is read once,
and every organization it reads is as billing time has made it by then
(:func:`mock_server.lifecycle.as_of`). Fixture organizations are never mutated: a
change stores a new dict, so a reset is O(1) however many organizations there are.
Credentials are indexed by their SHA-256 digest and confirmed with
``hmac.compare_digest``, so a lookup neither grows with the store nor leaks timing
about the secret. Every call that may wait on the state goes through one
:class:`~mock_server.stores.runner.Runner`: never on the event loop, always within
``--state-timeout``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from .clock import Clock, format_timestamp
from .errors import NotFound
from .fixtures import Price, Tenant
from .ids import Ids
from .lifecycle import as_of
from .stores import DEFAULT, MAX_SESSIONS, Completion, MemoryState, State, World
from .stores.runner import Runner

__all__ = ["DEFAULT", "MAX_SESSIONS", "Identity", "OrganizationStore", "Read", "Sandbox"]

TOKEN = re.compile(r"sbx[0-9a-f]{24}")
"""What a sandbox's credentials carry after the fixture credential and a dot."""
DEFAULT_TIMEOUT = 2.0


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


class Identity(NamedTuple):
    """Whom credentials name: an organization, and the token of the sandbox they belong to (None: any)."""

    organization_id: str
    token: str | None = None


class Read(NamedTuple):
    """An organization as a request read it."""

    stored: dict[str, Any] | None
    """What the state held (None: as the fixtures say); a compare-and-set stores only over it."""
    organization: dict[str, Any]
    """The organization at the sandbox's time (do not mutate)."""


class OrganizationStore:
    def __init__(
        self,
        tenants: Iterable[Tenant],
        prices: dict[str, Price],
        clock: Clock | None = None,
        state: State | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ids: Ids | None = None,
    ) -> None:
        self.ids = ids or Ids()
        self.state: State = state if state is not None else MemoryState()
        self.runner = Runner(self.state, timeout)
        self.clock = clock or Clock()
        self.clock.bind(self.state.world(DEFAULT))
        self.tenants: dict[str, Tenant] = {}
        self._bearer: dict[bytes, Tenant] = {}
        self._basic: dict[bytes, Tenant] = {}
        self.version = 0
        """How many times the fixtures were replaced (``--watch``): what a cache of credentials compares."""
        self.replace(tenants, prices)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def replace(self, tenants: Iterable[Tenant], prices: dict[str, Price]) -> None:
        """New fixtures (``--watch``), in one step: what is stored stays; what was never changed, every new
        sandbox and every reset read the new ones."""
        by_id = {tenant.organization_id: tenant for tenant in tenants}
        bearer = {_digest(tenant.api_key): tenant for tenant in by_id.values()}
        basic = {_digest(tenant.client_id): tenant for tenant in by_id.values()}
        self.tenants, self._bearer, self._basic, self.prices = by_id, bearer, basic, prices
        self.version += 1

    def __len__(self) -> int:
        return len(self.tenants)

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self.tenants.values())

    # credentials -------------------------------------------------------

    @staticmethod
    def _split(credential: str) -> tuple[str, str | None]:
        """``fixture credential.sbx...`` to its two parts; a plain credential with no token."""
        head, dot, token = credential.rpartition(".")
        return (head, token) if dot and TOKEN.fullmatch(token) else (credential, None)

    def by_api_key(self, api_key: str) -> Identity | None:
        tenant = self._bearer.get(_digest(api_key))
        if tenant is not None and _same(tenant.api_key, api_key):
            return Identity(tenant.organization_id)
        key, token = self._split(api_key)
        tenant = self._bearer.get(_digest(key)) if token is not None else None
        if tenant is None or not _same(tenant.api_key, key):
            return None
        return Identity(tenant.organization_id, token)

    def by_basic(self, client_id: str, client_secret: str) -> Identity | None:
        tenant = self._basic.get(_digest(client_id))
        if tenant is not None and _same(tenant.client_secret, client_secret):
            return Identity(tenant.organization_id)
        client, token = self._split(client_id)
        secret, secret_token = self._split(client_secret)
        if token is None or secret_token is None or not hmac.compare_digest(token, secret_token):
            return None
        tenant = self._basic.get(_digest(client))
        if tenant is None or not _same(tenant.client_secret, secret):
            return None
        return Identity(tenant.organization_id, token)

    # sandboxes ---------------------------------------------------------

    def world(self, sandbox: str = DEFAULT) -> World:
        """The state of ``sandbox``, called synchronously: for tests and tools, never on the event loop
        (the server goes through :meth:`sandbox`)."""
        return self.state.world(sandbox)

    async def sandbox(self, name: str = DEFAULT) -> Sandbox:
        """The sandbox ``name`` (which must exist) at its current time."""
        offset = await self.runner.read(name, "clock_offset")
        return Sandbox(self, name, self.clock.base() + offset)

    def lock(self, sandbox: str, organization_id: str) -> asyncio.Lock:
        """The lock that serialises read-modify-write of one organization in this process."""
        key = (sandbox, organization_id)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) > 10 * max(len(self.tenants), 1000):
                self._locks = {name: held for name, held in self._locks.items() if held.locked()}
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def log(self, sandbox: str, entry: dict[str, Any]) -> None:
        """Add ``entry`` to the sandbox's request log (never waits)."""
        self.runner.log(sandbox, entry)

    async def reset(self, sandbox: str = DEFAULT, before_commit: Callable[[], object] | None = None) -> None:
        """Back to the fixtures: changes, sessions, sticky scenarios, the clock's offset and the log, in one step.

        ``before_commit`` runs inside that step: if it raises, nothing is reset.
        """
        await self.runner.flush()
        await self.runner.call(self.state.world(sandbox).reset, before_commit)
        self._locks = {key: lock for key, lock in self._locks.items() if key[0] != sandbox or lock.locked()}

    def close(self) -> None:
        self.runner.close()


@dataclasses.dataclass
class Sandbox:
    """One sandbox of the store, for one request: its name and its time, read once."""

    store: OrganizationStore
    name: str
    now: dt.datetime

    @property
    def runner(self) -> Runner:
        return self.store.runner

    def _world(self) -> Any:
        return self.store.state.world(self.name)

    # organizations -----------------------------------------------------

    async def get(self, organization_id: str) -> Read:
        stored = await self.runner.read(self.name, "organization", organization_id)
        tenant = self.store.tenants.get(organization_id)
        if tenant is None:  # the fixtures changed under a session (--watch)
            raise NotFound(f"There is no organization {organization_id[:80]!r} in the fixtures any more.")
        base = stored if stored is not None else tenant.organization
        return Read(stored, as_of(base, self.now))

    def changed(self, read: Read, changes: dict[str, Any], remove: Iterable[str] = ()) -> dict[str, Any]:
        """The organization read with ``changes`` applied, ``remove`` dropped and ``updatedAt`` moved; not saved."""
        organization = dict(read.organization)
        organization.update(changes)
        for field in remove:
            organization.pop(field, None)
        organization["updatedAt"] = format_timestamp(self.now)
        return organization

    async def swap(self, organization_id: str, read: Read, new: dict[str, Any]) -> bool:
        """Store ``new`` if the organization is still what was read; False if not."""
        return await self.runner.call(self._world().swap_organization, organization_id, read.stored, new)

    def lock(self, organization_id: str) -> asyncio.Lock:
        return self.store.lock(self.name, organization_id)

    # checkout sessions -------------------------------------------------

    async def session(self, session_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self.runner.read(self.name, "session", session_id)
        return found

    async def add_session(self, session: dict[str, Any]) -> None:
        """Keep ``session`` (in its place if it is known); past the cap the oldest is dropped."""
        await self.runner.call(self._world().add_session, session)

    async def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.runner.call(self._world().recent_sessions, count)
        return found

    async def session_count(self) -> int:
        count: int = await self.runner.call(self._world().session_count)
        return count

    async def complete(
        self, session: dict[str, Any], organization_id: str, read: Read, new: dict[str, Any]
    ) -> Completion:
        """Store the paid ``session`` and ``new`` in one step, if the session is open and the organization
        still what was read."""
        done: Completion = await self.runner.call(
            self._world().complete_session, session, organization_id, read.stored, new
        )
        return done

    # sticky scenarios --------------------------------------------------

    async def sticky(self, organization_id: str) -> int | None:
        status: int | None = await self.runner.read(self.name, "sticky", organization_id)
        return status

    async def stickies(self) -> dict[str, int]:
        """organizationId -> the status its next calls answer."""
        found: dict[str, int] = await self.runner.call(self._world().stickies)
        return found

    async def set_sticky(self, organization_id: str, status: int | None) -> None:
        await self.runner.call(self._world().set_sticky, organization_id, status)

    # the clock ---------------------------------------------------------

    async def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move this sandbox's clock forward by ``delta``; its new time."""
        offset: dt.timedelta = await self.runner.call(self._world().advance_clock, delta)
        self.now = self.store.clock.base() + offset
        return self.now

    # the request log ---------------------------------------------------

    async def recent(self, count: int) -> list[dict[str, Any]]:
        """The ``count`` most recent requests, the oldest first."""
        await self.runner.flush()
        found: list[dict[str, Any]] = await self.runner.call(self._world().recent, count)
        return found
