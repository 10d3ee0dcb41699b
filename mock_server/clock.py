"""The mock's clock: real time by default, movable in tests."""

from __future__ import annotations

import datetime as dt
import functools
import time

__all__ = ["Clock", "format_timestamp", "iso_timestamp"]


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


class Clock:
    """Now, plus an offset that tests (and the dashboard) can move forward."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._fixed = start
        self.offset = dt.timedelta()
        """How far the clock was moved forward."""

    def now(self) -> dt.datetime:
        base = self._fixed or dt.datetime.now(dt.UTC)
        return base + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta

    def reset(self) -> None:
        self.offset = dt.timedelta()
