"""The request log's entries, sent to Redis in batches, without waiting for an answer.

The store hands the entries of one event-loop turn to the state's thread at once
(:mod:`mock_server.stores.runner`); :meth:`LogWriter.send` packs them as one ``EVAL``
per sandbox (the script pushes them and trims the log, in the sandbox's current
generation) and sends them on a connection of their own with ``CLIENT REPLY OFF``:
Redis runs them and answers nothing. Redis runs the commands of one connection in
order, so :meth:`LogWriter.sync` (``CLIENT REPLY ON``, which does answer) returns once
every entry sent before it is in the log: this process reads the log, or resets it,
only after that. A Redis that refuses ``CLIENT`` gets the same scripts with replies,
read at once.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Iterable
from typing import Any

import redis

from .redis_cache import _socket

__all__ = ["LogWriter"]

logger = logging.getLogger("mock_server")


def _bulk(value: bytes) -> bytes:
    """``value`` as a RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


class LogWriter:
    def __init__(self, pool: redis.ConnectionPool, script: str) -> None:
        """``script`` takes the prefix as its key, then the log's size and the entries, oldest first."""
        self._pool = pool
        # EVAL script 1 prefix size entry..., packed here (redis-py's packer takes 9 µs a command)
        self._head = b"".join(_bulk(part.encode()) for part in ("EVAL", script, "1"))
        self._connection: Any = None  # a redis-py Connection (untyped)
        self._poll: Any = None  # select.poll of the connection's socket
        self._unsynced = False
        self._lock = threading.Lock()  # the state's thread, or a test's, one at a time
        self.replies_off = True
        """False once Redis refused CLIENT REPLY: each script's answer is read."""

    def send(self, batches: Iterable[tuple[str, int, list[bytes]]]) -> None:
        """For each ``(prefix, size, entries)``: the entries into that sandbox's log, trimmed to ``size``."""
        commands = [
            b"*%d\r\n" % (5 + len(entries))
            + self._head
            + _bulk(prefix.encode())
            + _bulk(b"%d" % size)
            + b"".join(map(_bulk, entries))
            for prefix, size, entries in batches
            if entries
        ]
        if not commands:
            return
        with self._lock:
            self._send(commands)

    def _send(self, commands: list[bytes]) -> None:
        connection = self._connected()
        if self.replies_off and self._poll.poll(0):  # Redis answers nothing here: something to read: it closed
            connection.disconnect()
            connection = self._connected()
        connection.send_packed_command(commands, check_health=False)
        if self.replies_off:
            self._unsynced = True
        else:
            for _ in commands:
                connection.read_response()

    def sync(self) -> None:
        """Return once Redis has run every entry sent so far."""
        with self._lock:
            if not self._unsynced:
                return
            self._connection.send_command("CLIENT", "REPLY", "ON", check_health=False)
            self._connection.read_response()
            self._connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
            self._unsynced = False

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.disconnect()

    def _connected(self) -> Any:
        if self._connection is None:
            self._connection = self._pool.connection_class(**self._pool.connection_kwargs)
            self._connection.register_connect_callback(self._on_connect)
        self._connection.connect()  # does nothing while connected
        return self._connection

    def _on_connect(self, connection: Any) -> None:
        self._poll = select.poll()
        self._poll.register(_socket(connection), select.POLLIN)
        self._unsynced = False
        if not self.replies_off:
            return
        # CLIENT REPLY ON answers OK where CLIENT is allowed; OFF would answer nothing, refused or not.
        connection.send_command("CLIENT", "REPLY", "ON", check_health=False)
        try:
            connection.read_response()
        except redis.ResponseError as error:
            self.replies_off = False
            logger.warning("Redis refused CLIENT REPLY (%s): log entries wait for Redis's answer", str(error)[:200])
            return
        connection.send_command("CLIENT", "REPLY", "OFF", check_health=False)
