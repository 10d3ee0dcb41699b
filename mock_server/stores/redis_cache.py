"""The reads every request makes of the Redis state, kept in this process until Redis says they changed.

Each sandbox's generation, changed organizations, sticky scenarios and clock offset
are read on a connection of their own, in RESP3 with ``CLIENT TRACKING ON``: Redis
remembers which keys that connection read and pushes an ``invalidate`` message on it
as soon as any client changes one of them, in the same pass of its event loop as
the change itself. A pushed message drops everything kept, and so does a lost
connection. A value read while a message arrived is answered but not kept (it may
belong to the generation before a reset). docs/state.md says what this promises
across processes.

:meth:`TrackedReads.read` runs on the state's thread (it may wait for Redis);
:meth:`TrackedReads.peek`, on the event loop, answers from what is kept when nothing
waits on the connection, and never reads from the socket.

A Redis that refuses ``CLIENT`` (managed services often do) or RESP3 keeps nothing:
every read goes to Redis, from the state's thread.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis

from .base import MISS

__all__ = ["TrackedReads"]

T = TypeVar("T")
_EXACT = "="  # the name of a read of an exact key (no generation)
MAX_KEPT = 10_000
"""Values kept at most (two per organization asked for, at most): past it, everything is dropped."""
logger = logging.getLogger("mock_server")


def _socket(connection: Any) -> Any:
    # redis-py offers no public way to the socket; polling it costs 0.4 µs where can_read() costs 4.
    return connection._sock


class TrackedReads:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._pool = client.connection_pool
        self._connection: Any = None  # a redis-py Connection (untyped)
        self._poll: Any = None  # select.poll of the connection's socket, None while not connected
        self._peek_poll: Any = None  # another, for peek() on the event loop (a poll object is not shared)
        self._peeking = threading.Lock()
        self._kept: dict[tuple[str, str, str | None], Any] = {}
        self._changes = 0
        self._lock = threading.Lock()
        self.tracking = True
        """False once Redis refused CLIENT TRACKING or RESP3: nothing is kept."""

    def read(self, prefix: str, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        """``HGET {prefix}:{generation}:{name} field`` (``GET`` without a field), through ``convert``."""
        with self._lock:
            if not self.tracking:
                return self._plain(prefix, name, field, convert)
            try:
                return self._attempt(prefix, name, field, convert)
            except redis.ConnectionError:  # lost (Redis restarted, say): once more, on a new connection
                return self._attempt(prefix, name, field, convert)

    def read_key(self, key: str, field: str, convert: Callable[[bytes], T]) -> T | None:
        """``HGET key field`` of a key outside every generation (the list of sandboxes)."""
        return self.read(key, _EXACT, field, convert)

    def peek_key(self, key: str, field: str) -> Any:
        return self.peek(key, _EXACT, field)

    def peek(self, prefix: str, name: str, field: str | None) -> Any:
        """The kept value, or :data:`MISS` (nothing kept, or a message waiting).

        Takes no lock, so that a read the state's thread is waiting on (a hung Redis) does not hold it up:
        it polls the socket, and answers from what is kept only when nothing waits there to be read. A
        value answered just as an invalidation is being read is the value just before the change.
        """
        if not self._peeking.acquire(blocking=False):  # a poll object takes one caller at a time
            return MISS
        try:
            poll = self._peek_poll
            if poll is None or poll.poll(0):
                return MISS
            return self._kept.get((prefix, name, field), MISS)
        finally:
            self._peeking.release()

    def forget(self) -> None:
        """Drop what is kept: this process changed the state (its own invalidation may be on its way)."""
        self._kept.clear()
        self._changes += 1

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _plain(self, prefix: str, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        client: Any = self._client  # redis-py's synchronous client (typed as sync or async)
        if name is _EXACT:
            raw = client.hget(prefix, field) if field is not None else client.get(prefix)
            return None if raw is None else convert(raw)
        generation = client.get(f"{prefix}:gen") or b"0"
        where = f"{prefix}:{generation.decode()}:{name}"
        raw = client.get(where) if field is None else client.hget(where, field)
        return None if raw is None else convert(raw)

    def _attempt(self, prefix: str, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        try:
            return self._read(prefix, name, field, convert)
        except (redis.RedisError, OSError):
            self._drop()
            raise

    def _read(self, prefix: str, name: str, field: str | None, convert: Callable[[bytes], T]) -> T | None:
        if not self._catch_up():
            return self._plain(prefix, name, field, convert)
        key = (prefix, name, field)
        if key in self._kept:
            kept: T | None = self._kept[key]
            return kept
        changes = self._changes
        generation_key = (prefix, "gen", None)
        if name is _EXACT:
            generation, where = b"", prefix
        else:
            generation = self._kept.get(generation_key) or self._command("GET", f"{prefix}:gen") or b"0"
            where = f"{prefix}:{generation.decode()}:{name}"
        raw = self._command("GET", where) if field is None else self._command("HGET", where, field)
        self._drain()  # a message that came in with the answer is in redis-py's buffer, where poll() cannot see it
        value = None if raw is None else convert(raw)
        if changes == self._changes:  # nothing changed while it was read
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            if generation:
                self._kept[generation_key] = generation
            self._kept[key] = value
        return value

    def _catch_up(self) -> bool:
        """Read the messages Redis pushed since the last read; connect first if not connected.
        False when Redis refuses tracking (nothing can be kept)."""
        if self._poll is None:
            if self._connection is None:
                self._connection = self._pool.connection_class(**{**self._pool.connection_kwargs, "protocol": 3})
                self._connection.register_connect_callback(self._on_connect)
            try:
                self._connection.connect()
            except redis.ResponseError as error:  # HELLO 3 or CLIENT TRACKING refused
                self._refused(error)
                return False
            if self._poll is None:  # connected before, but tracking was never turned on
                raise redis.ConnectionError("CLIENT TRACKING is not on")
        elif self._poll.poll(0):
            self._drain()
        return True

    def _refused(self, error: redis.ResponseError) -> None:
        self.tracking = False
        self._drop()
        logger.warning(
            "Redis refused client-side tracking (%s): every read goes to Redis (mock-server --docs state)",
            str(error)[:200],
        )

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
        peek_poll = select.poll()
        peek_poll.register(_socket(connection), select.POLLIN)
        self._peek_poll = peek_poll

    def _invalidated(self, message: object) -> None:
        self.forget()

    def _drop(self) -> None:
        """The connection is lost or closed: nothing kept can be trusted; the next read connects again."""
        if self._connection is not None:
            self._connection.disconnect()
        self._poll = self._peek_poll = None
        self.forget()
