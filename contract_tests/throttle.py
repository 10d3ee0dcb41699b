"""Pacing and throttling: one rate-limited session that every request of a run goes through.

A target that answers ``429``, or ``503`` with ``Retry-After``, is throttling, not
breaking the contract: the session waits as told, retries (a bounded number of
times), and lowers the request rate for the rest of the run. When the retries
run out the run stops with a named cause (exit code 2), never as a violation.
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import threading
import time
from typing import Any

import requests

__all__ = ["MAX_RETRIES", "MAX_WAIT", "LimitedSession", "RateLimiter", "Throttle", "Throttled", "retry_after"]

MAX_RETRIES = 5  # retries of one request the target throttled
MAX_WAIT = 60.0  # most seconds the suite waits at once; a longer Retry-After ends the run
DEFAULT_WAIT = 1.0  # a 429 without Retry-After
LONGEST_RETRY_AFTER = 10**9  # seconds: a Retry-After of more digits reads as this
MIN_RPS = 0.5


class Throttled(RuntimeError):
    """The target kept throttling: the run stops without a verdict."""


def retry_after(status: int, headers: Any) -> float | None:
    """Seconds to wait before retrying, or None when the answer is not throttling.

    ``Retry-After`` is delay-seconds or an HTTP date (RFC 9110 10.2.3).
    """
    value = headers.get("retry-after")
    if status == 429 and value is None:
        return DEFAULT_WAIT
    if status not in (429, 503) or value is None:
        return None
    value = str(value).strip()
    if value.isascii() and value.isdigit():  # not str.isdigit() alone: it takes "²" and "①"
        return float(LONGEST_RETRY_AFTER if len(value) > 9 else int(value))  # int() refuses 4,300 digits
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_WAIT if status == 429 else None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class RateLimiter:
    """At most ``rps`` requests per second across threads; ``lower()`` halves the rate actually reached."""

    def __init__(self, rps: float | None) -> None:
        self.rps = rps
        self._next = 0.0
        self._lock = threading.Lock()
        self._recent: collections.deque[float] = collections.deque(maxlen=200)
        self._lowered = float("-inf")

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent.append(now)
            if not self.rps:
                return
            delay = self._next - now
            self._next = max(now, self._next) + 1.0 / self.rps
        if delay > 0:
            time.sleep(delay)

    def observed_rps(self) -> float | None:
        with self._lock:
            if len(self._recent) < 2:
                return None
            span = self._recent[-1] - self._recent[0]
            return (len(self._recent) - 1) / span if span > 0 else None

    def lower(self) -> None:
        """Halve the rate reached so far; at most once a second, so one burst of 429s halves it once."""
        now = time.monotonic()
        if now - self._lowered < 1.0:
            return
        self._lowered = now
        reached = [rate for rate in (self.rps, self.observed_rps()) if rate]
        if reached:
            self.rps = max(min(reached) / 2, MIN_RPS)


class Throttle:
    """How often and how long the target throttled; the cause once the retries ran out."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.answers = 0
        self.waited = 0.0
        self.gave_up: str | None = None
        self._lock = threading.Lock()

    def pause(self, delay: float, attempt: int, status: int, what: str) -> None:
        """Wait out one throttling answer, or raise :class:`Throttled` when the run must stop."""
        with self._lock:
            self.answers += 1
            if self.gave_up is None and delay > MAX_WAIT:
                self.gave_up = (
                    f"{what} answered {status} with Retry-After {delay:.0f} s (most the suite waits: {MAX_WAIT:g} s)"
                )
            elif self.gave_up is None and attempt >= MAX_RETRIES:
                self.gave_up = f"{what} was still throttled ({status}) after {MAX_RETRIES} retries"
            if self.gave_up is not None:
                raise Throttled(f"the target throttled the run: {self.gave_up}")
            self.waited += delay
        time.sleep(delay)
        self.limiter.lower()

    def to_dict(self) -> dict[str, Any]:
        rate = round(self.limiter.rps, 2) if self.limiter.rps else None
        return {
            "answers": self.answers,
            "waited_seconds": round(self.waited, 1),
            "final_rps": rate,
            "gave_up": self.gave_up,
        }


class LimitedSession(requests.Session):
    """A requests session that paces every request and rides out throttling."""

    def __init__(self, limiter: RateLimiter, timeout: float) -> None:
        super().__init__()
        self.limiter = limiter
        self.throttle = Throttle(limiter)
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        what = f"{request.method} {request.path_url.split('?')[0]}"
        attempt = 0
        while True:
            if self.throttle.gave_up is not None:
                raise Throttled(f"the target throttled the run: {self.throttle.gave_up}")
            self.limiter.wait()
            response = super().send(request, **kwargs)
            delay = retry_after(response.status_code, response.headers)
            if delay is None:
                return response
            response.close()
            self.throttle.pause(delay, attempt, response.status_code, what)
            attempt += 1
