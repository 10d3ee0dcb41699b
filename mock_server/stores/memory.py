"""The in-memory state: plain containers in this process, as fast as a dict lookup.

Atomic because the mock runs its handlers on one event loop and no method here
awaits: each method runs to its end before another request's code does.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from typing import Any

from .base import MAX_SESSIONS, REQUEST_LOG_SIZE, Completion, Organization

__all__ = ["MemoryState"]


class MemoryState:
    def __init__(self, max_sessions: int = MAX_SESSIONS, log_size: int = REQUEST_LOG_SIZE) -> None:
        self.max_sessions = max_sessions
        self._log_size = log_size
        self._organizations: dict[str, Organization] = {}
        self._sessions: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._sticky: dict[str, int] = {}
        self._offset = dt.timedelta()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=log_size)

    def organization(self, organization_id: str) -> Organization | None:
        return self._organizations.get(organization_id)

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        if self._organizations.get(organization_id) != expected:
            return False
        self._organizations[organization_id] = new
        return True

    def session(self, session_id: str) -> dict[str, Any] | None:
        return self._sessions.get(session_id)

    def add_session(self, session: dict[str, Any]) -> None:
        self._sessions[session["id"]] = session  # a known id keeps its place
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)

    def sessions(self) -> dict[str, dict[str, Any]]:
        return self._sessions

    def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        newest = reversed(self._sessions.values())
        return [session for session, _ in zip(newest, range(count), strict=False)]

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        stored = self._sessions.get(session["id"])
        if stored is None or stored["status"] != "open":
            return "closed"
        if self._organizations.get(organization_id) != expected:
            return "stale"
        self._organizations[organization_id] = new
        self._sessions[session["id"]] = session
        return "paid"

    def sticky(self, organization_id: str) -> int | None:
        return self._sticky.get(organization_id)

    def stickies(self) -> dict[str, int]:
        return dict(self._sticky)

    def set_sticky(self, organization_id: str, status: int | None) -> None:
        if status is None:
            self._sticky.pop(organization_id, None)
        else:
            self._sticky[organization_id] = status

    def clock_offset(self) -> dt.timedelta:
        return self._offset

    def advance_clock(self, delta: dt.timedelta) -> None:
        self._offset += delta

    def log(self, entry: dict[str, Any]) -> None:
        self._log.append(entry)

    def recent(self, count: int) -> list[dict[str, Any]]:
        return list(self._log)[-count:] if count > 0 else []

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        sessions: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        log: collections.deque[dict[str, Any]] = collections.deque(maxlen=self._log_size)
        if before_commit is not None:
            before_commit()
        self._organizations, self._sessions, self._sticky, self._offset, self._log = (
            {},
            sessions,
            {},
            dt.timedelta(),
            log,
        )

    def close(self) -> None:
        pass
