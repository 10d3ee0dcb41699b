"""The request log's entries, sent to Redis in batches, without waiting for an answer.

Entries are kept in this process until the end of the event loop's turn (at
once when no loop runs), then sent in one ``EVAL`` (the script pushes them and
trims the log, in the current generation) on a connection of their own with
``CLIENT REPLY OFF``: Redis runs it and answers nothing, so a request never
waits on the log, and a busy process sends one script for several requests.
Redis runs the commands of one connection in order, so :meth:`LogWriter.sync`
(``CLIENT REPLY ON``, which does answer) returns once every entry added before
it is in the log: this process reads the log, or resets it, only after that.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import select
from typing import Any

import redis

from .redis_cache import _socket

__all__ = ["LogWriter"]

logger = logging.getLogger("mock_server")


def _bulk(value: bytes) -> bytes:
    """``value`` as a RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


class LogWriter:
    def __init__(self, pool: redis.ConnectionPool, script: str, prefix: str, size: int) -> None:
        """``script`` takes the log's size, then the entries, oldest first."""
        self._pool = pool
        # EVAL script 1 prefix size entry..., packed here (redis-py's packer takes 9 µs a command)
        self._head = b"".join(_bulk(part.encode()) for part in ("EVAL", script, "1", prefix, str(size)))
        self._waiting: collections.deque[bytes] = collections.deque(maxlen=size)  # more would be trimmed
        self._connection: Any = None  # a redis-py Connection (untyped)
        self._poll: Any = None  # select.poll of the connection's socket
        self._planned_on: asyncio.AbstractEventLoop | None = None  # the loop that will send what waits
        self._unsynced = False

    def add(self, entry: bytes) -> None:
        self._waiting.append(entry)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush()
            return
        if self._planned_on is not loop:  # (a loop that stopped before its turn ended sends nothing)
            loop.call_soon(self._flush_later)
            self._planned_on = loop

    def sync(self) -> None:
        """Return once Redis has run every entry added so far."""
        self._flush()
        if not self._unsynced:
            return
        self._connection.send_command("CLIENT", "REPLY", "ON", check_health=False)
        self._connection.read_response()
        self._connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
        self._unsynced = False

    def close(self) -> None:
        self._flush_later()
        if self._connection is not None:
            self._connection.disconnect()

    def _flush_later(self) -> None:
        try:
            self._flush()
        except (redis.RedisError, OSError) as error:  # nobody waits for these entries: say they are lost
            logger.error("request log: entries not sent to Redis: %s", error)

    def _flush(self) -> None:
        self._planned_on = None
        if not self._waiting:
            return
        entries, count = b"".join(map(_bulk, self._waiting)), len(self._waiting)
        self._waiting.clear()
        connection = self._connected()
        if self._poll.poll(0):  # Redis answers nothing here: something to read means it closed the connection
            connection.disconnect()
            connection = self._connected()
        connection.send_packed_command([b"*%d\r\n" % (5 + count) + self._head + entries], check_health=False)
        self._unsynced = True

    def _connected(self) -> Any:
        if self._connection is None:
            self._connection = self._pool.connection_class(**self._pool.connection_kwargs)
            self._connection.register_connect_callback(self._on_connect)
        self._connection.connect()  # does nothing while connected
        return self._connection

    def _on_connect(self, connection: Any) -> None:
        connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
        self._poll = select.poll()
        self._poll.register(_socket(connection), select.POLLIN)
