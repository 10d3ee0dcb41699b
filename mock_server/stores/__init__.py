"""Where the mock keeps its state: ``--state memory`` (default), ``sqlite:///PATH`` or ``redis://HOST:PORT/DB``.

:class:`~mock_server.stores.base.State` is the interface; docs/state.md says
what each backend promises.
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import ConfigError
from ..settings import redact_url as redact
from .base import DEFAULT, MAX_SESSIONS, MISS, REQUEST_LOG_SIZE, Completion, SandboxInfo, State, World
from .memory import MemoryState
from .sqlite import DEFAULT_TIMEOUT, ForeignDatabase, SqliteState

if TYPE_CHECKING:
    from .redis import RedisState

__all__ = [
    "BACKENDS",
    "DEFAULT",
    "MAX_SESSIONS",
    "MISS",
    "REQUEST_LOG_SIZE",
    "Completion",
    "MemoryState",
    "SandboxInfo",
    "SqliteState",
    "State",
    "World",
    "open_state",
    "redact",
    "redis_location",
    "sqlite_path",
]

SQLITE_PREFIX = "sqlite:///"
REDIS_SCHEMES = ("redis://", "rediss://")
BACKENDS = ("memory", f"{SQLITE_PREFIX}PATH", "redis://HOST:PORT/DB[?namespace=NAME]")
"""The URL forms ``--state`` takes."""
NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""A namespace: the part of every Redis key that keeps one mock's state apart from another's."""


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL (``sqlite:////abs/path`` for an absolute one), else None."""
    if not url.startswith(SQLITE_PREFIX) or len(url) == len(SQLITE_PREFIX):
        return None
    return Path(url[len(SQLITE_PREFIX) :])


def redis_location(url: str) -> tuple[str, str] | None:
    """The server URL and the namespace of a ``redis://`` URL (``default`` without one), else None.

    :class:`ConfigError` for a namespace that is not 1 to 64 letters, digits, ``_``, ``.`` or ``-``.
    """
    if not url.startswith(REDIS_SCHEMES):
        return None
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    namespaces = [value for key, value in query if key == "namespace"]
    namespace = namespaces[-1] if namespaces else "default"
    if not NAMESPACE.fullmatch(namespace):
        raise ConfigError(f"namespace must be 1 to 64 of A-Z a-z 0-9 _ . -, got {namespace[:80]!r}")
    rest = urllib.parse.urlencode([(key, value) for key, value in query if key != "namespace"])
    return urllib.parse.urlunsplit(parts._replace(query=rest)), namespace


def open_state(url: str, source: str = "--state (MOCK_SERVER_STATE)", *, timeout: float = DEFAULT_TIMEOUT) -> State:
    """The backend ``url`` names, opened; :class:`ConfigError` naming ``source`` if it cannot be.

    ``timeout``: the longest a call waits for SQLite's locks or Redis's answer.
    """
    if url == "memory":
        return MemoryState()
    try:
        location = redis_location(url)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    if location is not None:
        return _open_redis(*location, source=source, timeout=timeout)
    path = sqlite_path(url)
    if path is None:
        raise ConfigError(f"{source} must be one of {', '.join(BACKENDS)}, got {redact(url)[:80]!r}")
    try:
        return SqliteState(path, timeout=timeout)
    except ForeignDatabase as error:
        raise ConfigError(f"{source}: refused {str(path)[:200]!r}: {error}; nothing in it was changed") from None
    except (sqlite3.Error, OSError) as error:
        raise ConfigError(f"{source}: cannot use {str(path)[:200]!r} as a SQLite state file: {error}") from None


def _open_redis(server: str, namespace: str, source: str, timeout: float) -> RedisState:
    """A client of ``server``, checked with a PING so that a wrong address stops start-up.

    Every command waits at most ``timeout`` seconds, and is tried once more at once on a lost connection
    (redis-py's default retries three times with a backoff of up to ten seconds). redis-py is imported
    here, not at start-up: ``--state memory`` and ``sqlite`` never need it.
    """
    from redis import Redis, RedisError
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from .redis import RedisState

    try:
        client = Redis.from_url(
            server,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 1),
        )
        client.ping()
    except (RedisError, ValueError, OSError) as error:
        said = str(error).replace(server, redact(server))
        raise ConfigError(f"{source}: cannot reach Redis at {redact(server)!r}: {said[:300]}") from None
    return RedisState(client, namespace)
