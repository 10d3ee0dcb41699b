"""The mock's clock: real time, or a time frozen at ``--clock-start``; each sandbox adds its own offset.

Every sandbox reads ``base + offset``: the offset lives in the sandbox's state
(moved forward by ``POST /__mock__/clock``, the dashboard or the pytest plugin,
never back), so every process sharing the state reads the same time, and a reset
sets it back. With ``--clock-start`` the base does not move by itself: only the
offset does, so a run repeats to the byte.

Durations are ISO 8601 (``P30D``, ``P1M``, ``PT36H``, ``P1Y2M3DT4H5M6S``); months
and years are calendar months, clamped to the month's end (31 January plus
``P1M`` is 28 or 29 February).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import re
import time
from typing import Protocol

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

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,6})M)?(?:(?P<weeks>\d{1,6})W)?(?:(?P<days>\d{1,7})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,8})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,10})S)?)?"
)
LATEST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC) - dt.timedelta(days=400)
"""The clock never moves past this (a year's margin for the dates billing time computes from it)."""


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


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` calendar months on (back when negative), clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclasses.dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration: calendar months, then an exact span."""

    months: int = 0
    span: dt.timedelta = dt.timedelta()

    def after(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` plus this duration (months first, clamped to the month's end)."""
        if self.months:
            moment = dt.datetime.combine(add_months(moment.date(), self.months), moment.timetz())
        return moment + self.span

    def before(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` minus this duration."""
        if self.months:
            moment = dt.datetime.combine(add_months(moment.date(), -self.months), moment.timetz())
        return moment - self.span


def parse_duration(text: str) -> Duration | None:
    """``P30D``, ``P1M``, ``PT36H``...; None for anything else (no fractions, no negative parts)."""
    found = _DURATION.fullmatch(text) if isinstance(text, str) and len(text) <= 64 else None
    if found is None:
        return None
    parts = {name: int(value) for name, value in found.groupdict().items() if value}
    span = dt.timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )
    return Duration(parts.get("years", 0) * 12 + parts.get("months", 0), span)


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
