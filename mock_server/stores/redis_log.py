"""The request log's entries, sent to Redis as each request ends, without waiting for an answer.

Each entry is one ``EVAL`` (the script pushes it and trims the log, in the
current generation) written on a connection of its own with ``CLIENT REPLY
OFF``: Redis runs it and answers nothing, so a request never waits on the log.
Redis runs the commands of one connection in order, so :meth:`LogWriter.sync`
(``CLIENT REPLY ON``, which does answer) returns once every entry sent before it
is in the log: this process reads the log, or resets it, only after that.
"""

from __future__ import annotations

import select
from typing import Any

import redis

from .redis_cache import _socket

__all__ = ["LogWriter"]


class LogWriter:
    def __init__(self, pool: redis.ConnectionPool, script: str, prefix: str, size: int) -> None:
        self._pool = pool
        self._script = script
        self._prefix = prefix
        self._size = size
        self._connection: Any = None  # a redis-py Connection (untyped)
        self._poll: Any = None  # select.poll of the connection's socket
        self._unsynced = False

    def send(self, entry: bytes) -> None:
        connection = self._connected()
        if self._poll.poll(0):  # Redis answers nothing here: something to read means it closed the connection
            connection.disconnect()
            connection = self._connected()
        packed = connection.pack_command("EVAL", self._script, 1, self._prefix, entry, self._size)
        connection.send_packed_command(packed, check_health=False)
        self._unsynced = True

    def sync(self) -> None:
        """Return once Redis has run every entry sent so far."""
        if not self._unsynced or self._connection is None:
            return
        self._connection.send_command("CLIENT", "REPLY", "ON", check_health=False)
        self._connection.read_response()
        self._connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
        self._unsynced = False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()

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
