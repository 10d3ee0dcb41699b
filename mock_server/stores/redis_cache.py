"""The reads every request makes of the Redis state, kept in this process until Redis says they changed.

The generation, the changed organizations, the sticky scenarios and the clock's
offset are read on a connection of their own, in RESP3 with ``CLIENT TRACKING
ON``: Redis remembers which keys that connection read and pushes an
``invalidate`` message on it as soon as any client changes one of them, in the
same pass of its event loop as the change itself. Before answering from
memory, a read polls that connection (one ``poll``, no round trip); a pushed
message drops everything kept, and so does a lost connection. A value read
while a message arrived is answered but not kept (it may belong to the
generation before a reset). docs/state.md says what this promises across
processes.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any, TypeVar

import redis

__all__ = ["TrackedReads"]

T = TypeVar("T")
_GENERATION = ("gen", None)
MAX_KEPT = 10_000
"""Values kept at most (two per organization asked for, at most): past it, everything is dropped."""


def _socket(connection: Any) -> Any:
    # redis-py offers no public way to the socket; polling it costs 0.4 µs where can_read() costs 4.
    return connection._sock


class TrackedReads:
    def __init__(self, pool: redis.ConnectionPool, prefix: str) -> None:
        self._pool = pool
        self._prefix = prefix
        self._connection: Any = None  # a redis-py Connection (untyped)
        self._poll: Any = None  # select.poll of the connection's socket, None while not connected
        self._kept: dict[tuple[str, str | None], Any] = {}
        self._changes = 0

    def read(self, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        """``HGET {prefix}:{generation}:{name} field`` (``GET`` without a field), through ``convert``."""
        try:
            return self._attempt(name, field, convert)
        except redis.ConnectionError:  # lost (Redis restarted, say): once more, on a new connection
            return self._attempt(name, field, convert)

    def _attempt(self, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        try:
            return self._read(name, field, convert)
        except (redis.RedisError, OSError):
            self._drop()
            raise

    def _read(self, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        self._catch_up()
        key = (name, field)
        if key in self._kept:
            kept: T | None = self._kept[key]
            return kept
        changes = self._changes
        generation = self._kept.get(_GENERATION) or self._command("GET", f"{self._prefix}:gen") or b"0"
        where = f"{self._prefix}:{generation.decode()}:{name}"
        raw = self._command("GET", where) if field is None else self._command("HGET", where, field)
        self._drain()  # a message that came in with the answer is in redis-py's buffer, where poll() cannot see it
        value = None if raw is None else convert(raw)
        if changes == self._changes:  # nothing changed while it was read
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[_GENERATION] = generation
            self._kept[key] = value
        return value

    def forget(self) -> None:
        """Drop what is kept: this process changed the state (its own invalidation may be on its way)."""
        self._kept.clear()
        self._changes += 1

    def close(self) -> None:
        self._drop()

    def _catch_up(self) -> None:
        """Read the messages Redis pushed since the last read; connect first if not connected."""
        if self._poll is None:
            if self._connection is None:
                self._connection = self._pool.connection_class(**{**self._pool.connection_kwargs, "protocol": 3})
                self._connection.register_connect_callback(self._on_connect)
            self._connection.connect()
            if self._poll is None:  # connected before, but tracking was never turned on
                raise redis.ConnectionError("CLIENT TRACKING is not on")
        elif self._poll.poll(0):
            self._drain()

    def _drain(self) -> None:
        """Read every message pushed so far (each one drops what is kept)."""
        while self._connection.can_read(0):
            self._connection.read_response(push_request=True)

    def _command(self, *args: str) -> Any:
        self._connection.send_command(*args)
        return self._connection.read_response()

    def _on_connect(self, connection: Any) -> None:
        self.forget()
        connection._parser.set_invalidation_push_handler(self._invalidated)
        connection.send_command("CLIENT", "TRACKING", "ON")
        connection.read_response()
        self._poll = select.poll()
        self._poll.register(_socket(connection), select.POLLIN)

    def _invalidated(self, message: object) -> None:
        self.forget()

    def _drop(self) -> None:
        """The connection is lost or closed: nothing kept can be trusted; the next read connects again."""
        if self._connection is not None:
            self._connection.disconnect()
        self._poll = None
        self.forget()
