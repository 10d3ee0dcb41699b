"""Where the mock keeps its state: ``--state memory`` (default) or ``--state sqlite:///PATH``.

:class:`~mock_server.stores.base.State` is the interface; docs/state.md says
what each backend promises.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..settings import ConfigError
from .base import MAX_SESSIONS, REQUEST_LOG_SIZE, Completion, State
from .memory import MemoryState
from .sqlite import SqliteState

__all__ = [
    "BACKENDS",
    "MAX_SESSIONS",
    "REQUEST_LOG_SIZE",
    "Completion",
    "MemoryState",
    "SqliteState",
    "State",
    "open_state",
    "sqlite_path",
]

SQLITE_PREFIX = "sqlite:///"
BACKENDS = ("memory", f"{SQLITE_PREFIX}PATH")
"""The URL forms ``--state`` takes."""


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL (``sqlite:////abs/path`` for an absolute one), else None."""
    if not url.startswith(SQLITE_PREFIX) or len(url) == len(SQLITE_PREFIX):
        return None
    return Path(url[len(SQLITE_PREFIX) :])


def open_state(url: str, source: str = "--state (MOCK_SERVER_STATE)") -> State:
    """The backend ``url`` names, opened; :class:`ConfigError` naming ``source`` if it cannot be."""
    if url == "memory":
        return MemoryState()
    path = sqlite_path(url)
    if path is None:
        raise ConfigError(f"{source} must be one of {', '.join(BACKENDS)}, got {url[:80]!r}")
    try:
        return SqliteState(path)
    except (sqlite3.Error, OSError) as error:
        raise ConfigError(f"{source}: cannot use {str(path)[:200]!r} as a SQLite state file: {error}") from None
