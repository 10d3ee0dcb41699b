"""The mock's clock: real time by default, movable in tests."""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Protocol

__all__ = ["Clock", "ClockState", "format_timestamp", "iso_timestamp"]


def format_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the API writes ``createdAt``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (f"{moment.microsecond // 1000:03d}Z")


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def iso_timestamp(epoch: float) -> str:
    """``epoch`` (seconds, wall clock) as :func:`format_timestamp` writes it, cheaply."""
    second = int(epoch)
    return f"{_second(second)}.{int((epoch - second) * 1000):03d}Z"


class ClockState(Protocol):
    """Where the offset is kept: the mock's state (:class:`~mock_server.stores.State`) once bound."""

    def clock_offset(self) -> dt.timedelta: ...

    def advance_clock(self, delta: dt.timedelta) -> None: ...


class _Offset:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def clock_offset(self) -> dt.timedelta:
        return self.offset

    def advance_clock(self, delta: dt.timedelta) -> None:
        self.offset += delta


class Clock:
    """Now, plus an offset that tests (and the dashboard) can move forward.

    The offset lives in the state the clock is bound to, so every process on one
    state reads the same time, and a reset of the state sets it back.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._fixed = start
        self._state: ClockState = _Offset()

    def bind(self, state: ClockState) -> None:
        self._state = state

    @property
    def offset(self) -> dt.timedelta:
        """How far the clock was moved forward."""
        return self._state.clock_offset()

    def now(self) -> dt.datetime:
        base = self._fixed or dt.datetime.now(dt.UTC)
        return base + self._state.clock_offset()

    def advance(self, delta: dt.timedelta) -> None:
        self._state.advance_clock(delta)
