"""The in-memory state: plain containers in this process, as fast as a dict lookup.

Atomic because the mock runs its handlers on one event loop and no method here
awaits: each method runs to its end before another request's code does. A named
sandbox that changed nothing holds an empty :class:`MemoryWorld`; its sessions
and log entries are kept as JSON bytes (a third of a dict's size).
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from .base import (
    DEFAULT,
    MAX_SESSIONS,
    MISS,
    REQUEST_LOG_SIZE,
    SANDBOX_LOG_SIZE,
    SANDBOX_SESSIONS,
    Completion,
    Created,
    Organization,
    SandboxInfo,
)

__all__ = ["MemoryState", "MemoryWorld"]


def _pack(value: Any) -> bytes:
    """``value`` as JSON, in a bytes object of its own size (orjson's keeps a 4 KiB buffer: 16 times a
    log entry's size)."""
    return memoryview(orjson.dumps(value)).tobytes()


class MemoryWorld:
    __slots__ = ("_log", "_offset", "_organizations", "_sessions", "_sticky", "log_size", "max_sessions")

    def __init__(self, max_sessions: int = MAX_SESSIONS, log_size: int = REQUEST_LOG_SIZE) -> None:
        self.max_sessions = max_sessions
        self.log_size = log_size
        self._organizations: dict[str, Organization] = {}
        self._sessions: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._sticky: dict[str, int] = {}
        self._offset = dt.timedelta()
        self._log: collections.deque[bytes] = collections.deque(maxlen=log_size)

    def organization(self, organization_id: str) -> Organization | None:
        return self._organizations.get(organization_id)

    def swap_organization(self, organization_id: str, expected: Organization | None, new: Organization) -> bool:
        if self._organizations.get(organization_id) != expected:
            return False
        self._organizations[organization_id] = new
        return True

    def organizations(self) -> dict[str, Organization]:
        return dict(self._organizations)

    def session(self, session_id: str) -> dict[str, Any] | None:
        body = self._sessions.get(session_id)
        return None if body is None else orjson.loads(body)

    def add_session(self, session: dict[str, Any]) -> None:
        self._sessions[session["id"]] = _pack(session)  # a known id keeps its place
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)

    def sessions(self) -> dict[str, dict[str, Any]]:
        return {session_id: orjson.loads(body) for session_id, body in self._sessions.items()}

    def recent_sessions(self, count: int) -> list[dict[str, Any]]:
        newest = reversed(self._sessions.values())
        return [orjson.loads(body) for body, _ in zip(newest, range(max(count, 0)), strict=False)]

    def session_count(self) -> int:
        return len(self._sessions)

    def complete_session(
        self, session: dict[str, Any], organization_id: str, expected: Organization | None, new: Organization
    ) -> Completion:
        stored = self.session(session["id"])
        if stored is None or stored["status"] != "open":
            return "closed"
        if self._organizations.get(organization_id) != expected:
            return "stale"
        self._organizations[organization_id] = new
        self._sessions[session["id"]] = _pack(session)
        return "paid"

    def sticky(self, organization_id: str) -> int | None:
        return self._sticky.get(organization_id)

    def stickies(self) -> dict[str, int]:
        return dict(sorted(self._sticky.items()))

    def set_sticky(self, organization_id: str, status: int | None) -> None:
        if status is None:
            self._sticky.pop(organization_id, None)
        else:
            self._sticky[organization_id] = status

    def clock_offset(self) -> dt.timedelta:
        return self._offset

    def advance_clock(self, delta: dt.timedelta) -> dt.timedelta:
        self._offset += delta
        return self._offset

    def log(self, entry: dict[str, Any]) -> None:
        self._log.append(_pack(entry))

    def recent(self, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        return [orjson.loads(body) for body in list(self._log)[-count:]]

    def reset(self, before_commit: Callable[[], object] | None = None) -> None:
        sessions: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        log: collections.deque[bytes] = collections.deque(maxlen=self.log_size)
        if before_commit is not None:
            before_commit()
        self._organizations, self._sessions, self._sticky, self._offset, self._log = (
            {},
            sessions,
            {},
            dt.timedelta(),
            log,
        )


class MemoryState:
    blocking = False

    def __init__(self, max_sessions: int = MAX_SESSIONS, log_size: int = REQUEST_LOG_SIZE) -> None:
        self._default = MemoryWorld(max_sessions, log_size)
        self._worlds: dict[str, MemoryWorld] = {}
        self._sandboxes: dict[str, SandboxInfo] = {}
        self._tokens: dict[str, str] = {}
        self._start: dt.datetime | None = None

    @property
    def max_sessions(self) -> int:
        """The default sandbox's cap on sessions (as the other backends have it)."""
        return self._default.max_sessions

    @max_sessions.setter
    def max_sessions(self, most: int) -> None:
        self._default.max_sessions = most

    def world(self, sandbox: str) -> MemoryWorld:
        if sandbox == DEFAULT:
            return self._default
        world = self._worlds.get(sandbox)
        if world is None:  # made on first use, so a sandbox that changed nothing costs nothing
            world = self._worlds[sandbox] = MemoryWorld(SANDBOX_SESSIONS, SANDBOX_LOG_SIZE)
        return world

    def peek(self, sandbox: str, read: str, *args: Any) -> Any:
        return MISS  # never asked: nothing here blocks

    def log_many(self, entries: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for sandbox, entry in entries:
            self.world(sandbox).log(entry)

    def sandbox(self, name: str) -> SandboxInfo | None:
        return self._sandboxes.get(name)

    def sandboxes(self) -> list[SandboxInfo]:
        return list(self._sandboxes.values())

    def sandbox_by_token(self, token: str) -> str | None:
        return self._tokens.get(token)

    def create_sandbox(self, info: SandboxInfo, most: int, idle_before: float) -> Created:
        if info.name in self._sandboxes:
            return "exists"
        for idle in [name for name, known in self._sandboxes.items() if known.last_used < idle_before]:
            self.drop_sandbox(idle)
        if len(self._sandboxes) >= most:
            return "full"
        self._sandboxes[info.name] = info
        self._worlds.pop(info.name, None)
        if info.token:
            self._tokens[info.token] = info.name
        return "created"

    def touch_sandbox(self, name: str, when: float) -> bool:
        known = self._sandboxes.get(name)
        if known is None:
            return False
        if when > known.last_used:
            self._sandboxes[name] = SandboxInfo(known.name, known.created, when, known.token)
        return True

    def drop_sandbox(self, name: str) -> bool:
        known = self._sandboxes.pop(name, None)
        self._worlds.pop(name, None)
        if known is not None and known.token:
            self._tokens.pop(known.token, None)
        return known is not None

    def clock_start(self, proposed: dt.datetime) -> dt.datetime:
        if self._start is None:
            self._start = proposed
        return self._start

    def close(self) -> None:
        pass
