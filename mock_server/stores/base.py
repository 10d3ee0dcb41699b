"""The state interface: what the mock keeps between requests, behind one Protocol.

Every change that must hold across processes is ONE method, so a backend can
make it atomic with its own means (a transaction, a Lua script, ``SET NX``):
a compare-and-set of an organization, paying a session exactly once, a reset of
everything. Reads may be stale by the time they are used; the writes that
depend on them carry what was read and fail when it has changed.

The interface is synchronous: the in-memory backend answers in a few hundred
nanoseconds and SQLite in WAL mode in tens of microseconds, both faster than an
``await``; the Redis backend answers the reads of every request from what its
process keeps, and sends log entries without waiting (docs/state.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal, Protocol

__all__ = ["MAX_SESSIONS", "REQUEST_LOG_SIZE", "Completion", "State"]

MAX_SESSIONS = 10_000
"""Checkout sessions kept: about 1.2 KiB each, 5 KiB with the longest URLs (12 to 50 MB in all)."""
REQUEST_LOG_SIZE = 200
"""Entries of the request log kept, the most recent."""

Completion = Literal["paid", "closed", "stale"]
"""What paying a session did: paid, refused (it was not open), or nothing (the organization changed meanwhile)."""
Organization = dict[str, Any]


class State(Protocol):
    max_sessions: int

    # organizations: only those changed since the fixtures are stored ------------

    def organization(self, organization_id: str) -> Organization | None:
        """The stored organization, or None while it is as the fixtures say (do not mutate)."""
        ...

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        """Store ``new`` if the stored organization is still ``expected`` (None: unchanged); False if not."""
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

    def advance_clock(self, delta: dt.timedelta) -> None: ...

    # the request log ------------------------------------------------------------

    def log(self, entry: dict[str, Any]) -> None:
        """Append ``entry``; the oldest beyond :data:`REQUEST_LOG_SIZE` is dropped."""
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

    def close(self) -> None: ...
