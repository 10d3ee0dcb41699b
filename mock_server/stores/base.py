"""The state interface: what the mock keeps between requests, behind one Protocol.

The state holds *sandboxes* (docs/state.md, "Sandboxes"): isolated worlds on one
server, each the changes made since the fixtures. :meth:`State.world` gives one
sandbox's :class:`World`; :data:`DEFAULT` is the sandbox of a request that names
none. The other methods of :class:`State` keep the list of named sandboxes.

Every change that must hold across processes is ONE method, so a backend can
make it atomic with its own means (a transaction, a Lua script): a compare-and-set
of an organization, paying a session exactly once, a reset of one sandbox,
creating a sandbox within the limit. Reads may be stale by the time they are used;
the writes that depend on them carry what was read and fail when it has changed.

The methods are synchronous. A backend whose calls may wait on I/O (SQLite, Redis)
says so with ``blocking = True``: the store then never calls it on the event loop,
but from the state's own thread with a deadline (:mod:`mock_server.stores.runner`),
except for :meth:`State.peek`, which answers a read at once from what the process
holds, or :data:`MISS`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

__all__ = [
    "DEFAULT",
    "MAX_SESSIONS",
    "MISS",
    "REQUEST_LOG_SIZE",
    "SANDBOX_LOG_SIZE",
    "SANDBOX_SESSIONS",
    "Completion",
    "Created",
    "SandboxInfo",
    "State",
    "World",
]

DEFAULT = "default"
"""The sandbox of a request that names none: the mock's one world before sandboxes existed."""
MAX_SESSIONS = 10_000
"""Checkout sessions the default sandbox keeps: about 1.2 KiB each, 5 KiB with the longest URLs."""
REQUEST_LOG_SIZE = 200
"""Entries of the default sandbox's request log kept, the most recent."""
SANDBOX_SESSIONS = 50
"""Checkout sessions a named sandbox keeps (a test makes a few): with :data:`SANDBOX_LOG_SIZE`,
what bounds the memory of ``--max-sandboxes`` sandboxes."""
SANDBOX_LOG_SIZE = 100
"""Entries of a named sandbox's request log kept."""

Completion = Literal["paid", "closed", "stale"]
"""What paying a session did: paid, refused (it was not open), or nothing (the organization changed meanwhile)."""
Organization = dict[str, Any]


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


MISS: Any = _Miss()
"""What :meth:`State.peek` answers when it cannot answer at once."""


@dataclasses.dataclass(frozen=True)
class SandboxInfo:
    """A named sandbox: when it was made and last used (seconds since the epoch), its credentials' token."""

    name: str
    created: float
    last_used: float
    token: str | None = None


Created = Literal["created", "exists", "full"]
"""What :meth:`State.create_sandbox` did."""


class World(Protocol):
    """One sandbox's state: only what changed since the fixtures is stored."""

    max_sessions: int
    log_size: int

    # organizations --------------------------------------------------------------

    def organization(self, organization_id: str) -> Organization | None:
        """The stored organization, or None while it is as the fixtures say (do not mutate)."""
        ...

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        """Store ``new`` if the stored organization is still ``expected`` (None: unchanged); False if not."""
        ...

    def organizations(self) -> dict[str, Organization]:
        """Every stored organization."""
        ...

    # checkout sessions: the most recent max_sessions --------------------------

    def session(self, session_id: str) -> dict[str, Any] | None: ...

    def add_session(self, session: dict[str, Any]) -> None:
        """Keep ``session``; past ``max_sessions`` the oldest is dropped."""
        ...

    def sessions(self) -> dict[str, dict[str, Any]]:
        """Every session kept, the oldest first."""
        ...

    def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        """The ``count`` most recent sessions, the newest first."""
        ...

    def session_count(self) -> int: ...

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        """In one step: store the paid ``session`` and ``new`` if the session is still open and the
        organization still ``expected``."""
        ...

    # sticky scenarios -----------------------------------------------------------

    def sticky(self, organization_id: str) -> int | None: ...

    def stickies(self) -> dict[str, int]: ...

    def set_sticky(self, organization_id: str, status: int | None) -> None: ...

    # the clock's offset -------------------------------------------------------

    def clock_offset(self) -> dt.timedelta: ...

    def advance_clock(self, delta: dt.timedelta) -> dt.timedelta:
        """Move the offset forward by ``delta``; the new offset."""
        ...

    # the request log ------------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        """Append ``entry``; the oldest beyond ``log_size`` is dropped."""
        ...

    def recent(self, count: int) -> list[dict[str, Any]]:
        """The ``count`` most recent entries, the oldest first."""
        ...

    # everything ---------------------------------------------------------------

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        """Drop every change, session, sticky scenario, the clock's offset and the log, in one step.

        ``before_commit`` runs last, inside that step: if it raises, nothing is reset.
        """
        ...


class State(Protocol):
    max_sessions: int
    """Checkout sessions the default sandbox keeps."""
    blocking: bool
    """True when a call may wait on I/O: the store then calls it off the event loop (runner.py)."""

    def world(self, sandbox: str) -> World:
        """The state of ``sandbox`` (cheap: a view, made on every call)."""
        ...

    def peek(self, sandbox: str, read: str, *args: Any) -> Any:
        """World(sandbox).<read>(*args) answered at once from what this process holds, or :data:`MISS`."""
        ...

    def log_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Entries of several sandboxes' request logs, ``(sandbox, entry)``, the oldest first: one batch."""
        ...

    # named sandboxes ------------------------------------------------------------

    def sandbox(self, name: str) -> SandboxInfo | None: ...

    def sandboxes(self) -> list[SandboxInfo]:
        """Every named sandbox, the oldest first."""
        ...

    def sandbox_by_token(self, token: str) -> str | None:
        """The name of the sandbox whose credentials carry ``token``."""
        ...

    def create_sandbox(self, info: SandboxInfo, most: int, idle_before: float) -> Created:
        """Add ``info`` unless its name exists; first drop every sandbox last used before ``idle_before``;
        ``full`` when ``most`` sandboxes remain."""
        ...

    def touch_sandbox(self, name: str, when: float) -> bool:
        """Record a use of ``name`` at ``when``; False when there is no such sandbox."""
        ...

    def drop_sandbox(self, name: str) -> bool:
        """Forget the sandbox and everything in it; False when there was none."""
        ...

    # the clock's start ----------------------------------------------------------

    def clock_start(self, proposed: dt.datetime) -> dt.datetime:
        """The start every process on this state shares: the one stored, else ``proposed``, stored."""
        ...

    def close(self) -> None: ...
