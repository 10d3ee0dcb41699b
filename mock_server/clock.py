"""The mock's clock: real time, or a time frozen at ``--clock-start``; each sandbox adds its own offset.

Every sandbox reads ``base + offset``: the offset lives in the sandbox's state
(moved forward by ``POST /__mock__/clock``, the dashboard or the pytest plugin,
never back), so every process sharing the state reads the same time, and a reset
sets it back. With ``--clock-start`` the base does not move by itself: only the
offset does, so a run repeats to the byte.

Durations are ISO 8601 (``P30D``, ``P1M``, ``PT36H``, ``P1Y2M3DT4H5M6S``); months
and years are calendar months, clamped to the month's end (31 January plus
``P1M`` is 28 or 29 February): :mod:`billing_contract.fixture_dates`, which the
contract suite reads fixtures with too.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Protocol

from billing_contract.fixture_dates import Duration, add_months, format_timestamp, parse_duration

__all__ = [
    "Clock",
    "ClockState",
    "Duration",
    "add_months",
    "format_timestamp",
    "iso_timestamp",
    "parse_duration",
    "parse_instant",
]

LATEST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC) - dt.timedelta(days=400)
"""The clock never moves past this (a year's margin for the dates billing time computes from it)."""


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def iso_timestamp(epoch: float) -> str:
    """``epoch`` (seconds, wall clock) as :func:`format_timestamp` writes it, cheaply."""
    second = int(epoch)
    return f"{_second(second)}.{int((epoch - second) * 1000):03d}Z"


def parse_instant(text: str) -> dt.datetime | None:
    """An ISO 8601 date-time with its UTC offset (``2027-01-01T00:00:00Z``), or None."""
    if not isinstance(text, str) or not 10 < len(text) <= 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else None


class ClockState(Protocol):
    """Where the default sandbox's offset is kept (a :class:`~mock_server.stores.World`)."""

    def clock_offset(self) -> dt.timedelta: ...

    def advance_clock(self, delta: dt.timedelta) -> dt.timedelta: ...


class _Offset:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def clock_offset(self) -> dt.timedelta:
        return self.offset

    def advance_clock(self, delta: dt.timedelta) -> dt.timedelta:
        self.offset += delta
        return self.offset


class Clock:
    """The base every sandbox's time is counted from: real time, or ``start`` frozen.

    :meth:`base` never waits. :meth:`now` and :meth:`advance` act on the default sandbox's
    offset synchronously, for tests and tools; the server reads a sandbox's time through
    its store (``Sandbox.now``), which never waits on the event loop.
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.start = start
        self._state: ClockState = _Offset()

    @property
    def frozen(self) -> bool:
        """True when time moves only when the clock is advanced (``--clock-start``)."""
        return self.start is not None

    def bind(self, state: ClockState) -> None:
        self._state = state

    def base(self) -> dt.datetime:
        return self.start or dt.datetime.now(dt.UTC)

    @property
    def offset(self) -> dt.timedelta:
        """How far the default sandbox's clock was moved forward."""
        return self._state.clock_offset()

    def now(self) -> dt.datetime:
        return self.base() + self._state.clock_offset()

    def advance(self, delta: dt.timedelta) -> None:
        self._state.advance_clock(delta)
