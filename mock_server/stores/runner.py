"""The one door from the event loop to a state that may wait on I/O: a thread of its own, and a deadline.

The in-memory state answers at once and is called directly. SQLite and Redis
(``blocking``) are called from one thread per process, in the order the calls were
made; the caller waits at most ``timeout`` seconds, then gets
:class:`~mock_server.errors.StateUnavailable` (503 with ``Retry-After``), and a
call whose deadline passed before its turn came is never made. A read is first
asked of :meth:`State.peek`, which answers at once from what the process holds.
Request-log entries are never waited for: the entries of one event-loop turn go
to the thread as one batch; at most :data:`MAX_PENDING` wait, past that the oldest
are dropped (and said so in the log).

So a hung Redis or a SQLite file another program keeps locked costs the requests
that need it a bounded wait, and nothing else: the loop goes on serving health,
the dashboard's pages and every read the process can answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import StateUnavailable
from .base import DEFAULT, MISS, State

__all__ = ["MAX_PENDING", "Runner"]

T = TypeVar("T")
MAX_PENDING = 10_000
"""Request-log entries waiting for the state's thread at most."""
logger = logging.getLogger("mock_server")


class _Late(Exception):
    """A call's deadline passed before the thread came to it: it is not made."""


def _failures() -> tuple[type[BaseException], ...]:
    """What a backend raises when it cannot be reached or is busy (not a bug of ours)."""
    found: list[type[BaseException]] = [sqlite3.OperationalError, OSError, TimeoutError]
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a dependency
        return tuple(found)
    return (*found, redis.RedisError)


class Runner:
    def __init__(self, state: State, timeout: float) -> None:
        self.state = state
        self.timeout = timeout
        self._thread = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mock-state") if state.blocking else None
        )
        self._failures = _failures()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._planned_on: asyncio.AbstractEventLoop | None = None
        self._dropped = 0

    async def call(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)``: at once for a state that never waits, else on the state's thread, within the deadline."""
        if self._thread is None:
            return call(*args)
        deadline = time.monotonic() + self.timeout

        def job() -> T:
            if time.monotonic() > deadline:
                raise _Late
            return call(*args)

        future = asyncio.wrap_future(self._thread.submit(job))
        try:
            return await asyncio.wait_for(future, self.timeout)
        except (TimeoutError, _Late):
            raise StateUnavailable(f"The state ({self.describe()}) did not answer within {self.timeout:g} s.") from None
        except self._failures as error:
            logger.error("state (%s) failed: %s", self.describe(), str(error)[:300])
            raise StateUnavailable(f"The state ({self.describe()}) failed: {type(error).__name__}.") from None

    async def read(self, sandbox: str, read: str, *args: Any) -> Any:
        """``world(sandbox).<read>(*args)``: what the process holds if it can say at once, else :meth:`call`."""
        world = self.state.world(sandbox)
        if self._thread is None:
            return getattr(world, read)(*args)
        value = self.state.peek(sandbox, read, *args)
        if value is not MISS:
            return value
        return await self.call(getattr(world, read), *args)

    async def lookup(self, read: str, *args: Any) -> Any:
        """``state.<read>(*args)`` (a read of the sandboxes' list), answered at once where the process can."""
        if self._thread is None:
            return getattr(self.state, read)(*args)
        value = self.state.peek(DEFAULT, read, *args)
        if value is not MISS:
            return value
        return await self.call(getattr(self.state, read), *args)

    def submit(self, call: Callable[..., object], *args: Any) -> None:
        """``call(*args)`` on the state's thread, not waited for; a failure is logged."""
        if self._thread is None:
            call(*args)
            return

        def job() -> None:
            try:
                call(*args)
            except self._failures as error:
                logger.error("state (%s): %s failed: %s", self.describe(), call.__name__, str(error)[:300])

        self._thread.submit(job)

    def log(self, sandbox: str, entry: dict[str, Any]) -> None:
        """Add ``entry`` to ``sandbox``'s request log, without waiting."""
        if self._thread is None:
            self.state.world(sandbox).log(entry)
            return
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                del self._pending[0]
                self._dropped += 1
            self._pending.append((sandbox, entry))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._send()
            return
        if self._planned_on is not loop:  # (a loop that stopped before its turn ended sends nothing: the next does)
            self._planned_on = loop
            loop.call_soon(self._send)

    def _send(self) -> concurrent.futures.Future[None] | None:
        self._planned_on = None
        with self._lock:
            batch, self._pending = self._pending, []
            dropped, self._dropped = self._dropped, 0
        if dropped:
            logger.warning("request log: %d entries dropped: the state (%s) fell behind", dropped, self.describe())
        if not batch or self._thread is None:
            return None
        return self._thread.submit(self._write_log, batch)

    def _write_log(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        try:
            self.state.log_many(batch)
        except self._failures as error:  # nobody waits for these entries: say they are lost
            logger.error("request log: %d entries not written to the state: %s", len(batch), str(error)[:300])

    async def flush(self) -> None:
        """Return once the entries logged so far are in the state (before the log is read or reset)."""
        if self._thread is None:
            return
        self._send()
        await self.call(lambda: None)

    def drain(self) -> None:
        """Wait (here, not on a loop) until every call made so far is done: for tests and tools."""
        if self._thread is not None:
            self._send()
            self._thread.submit(lambda: None).result(timeout=max(self.timeout * 4, 10))

    def describe(self) -> str:
        return type(self.state).__name__.removesuffix("State").lower()

    def close(self) -> None:
        """Send what waits, let the thread finish (at most the deadline), then close the state."""
        if self._thread is not None:
            sent = self._send()
            late: tuple[type[BaseException], ...] = (concurrent.futures.TimeoutError, *self._failures)
            if sent is not None:
                try:
                    sent.result(timeout=self.timeout)
                except late:
                    logger.error("request log: entries not written before the state closed")
            self._thread.shutdown(wait=False, cancel_futures=True)
        self.state.close()
