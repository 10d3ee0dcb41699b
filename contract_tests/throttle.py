"""Pacing, throttling and the run's budget: one rate-limited session that every request of a run goes through.

A target that answers ``429``, or ``503`` with ``Retry-After``, is throttling, not
breaking the contract: the session waits as told, retries (a bounded number of
times), and halves the request rate; answers without throttling raise it back a
step at a time. When the retries run out the run stops with a named cause (exit
code 2), never as a violation.
"""

from __future__ import annotations

import collections
import copy
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

from billing_contract.throttling import retry_after

from .transport import IncompleteAnswer

__all__ = [
    "MAX_RETRIES",
    "MAX_WAIT",
    "Budget",
    "LimitedSession",
    "Observer",
    "OutOfTime",
    "RECOVER_AFTER",
    "RateLimiter",
    "Throttle",
    "Throttled",
    "retry_after",
]

MAX_RETRIES = 5  # retries of one request the target throttled
MAX_WAIT = 60.0  # most seconds the suite waits at once; a longer Retry-After ends the run
MIN_RPS = 0.5
RECOVER_AFTER = 5  # answers in a row without throttling that raise a lowered rate by a tenth of the unthrottled one


class Throttled(RuntimeError):
    """The target kept throttling: the run stops without a verdict."""


class RateLimiter:
    """At most ``rps`` requests per second across threads, lowered when the target throttles and raised again as it
    answers (AIMD): ``lower()`` halves the rate actually reached; every :data:`RECOVER_AFTER` answers in a row
    without throttling add a tenth of the unthrottled rate back, up to it (``--max-rps``, or none).
    """

    def __init__(self, rps: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.rps = rps
        self.ceiling = rps  # the unthrottled rate: --max-rps, or None (no limit)
        self.lowest = rps
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()
        # The latest requests: the rate reached now (a long window would lag behind a rate being raised).
        self._recent: collections.deque[float] = collections.deque(maxlen=2 * RECOVER_AFTER + 1)
        self._lowered = float("-inf")
        self._top = 0.0  # the rate recovery climbs back to: the ceiling, or the fastest reached before throttling
        self._streak = 0  # answers without throttling since the last lowering or raise

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
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
        now = self._clock()
        with self._lock:
            self._streak = 0
            if now - self._lowered < 1.0:
                return
            self._lowered = now
        reached = [rate for rate in (self.rps, self.observed_rps()) if rate]
        with self._lock:
            self._recent.clear()  # the rate reached next is measured from here: the wait it is about to do not
        if reached:
            self._top = max(self._top, self.ceiling or max(reached))
            self.rps = max(min(reached) / 2, MIN_RPS)
            self.lowest = min(self.rps, self.lowest or self.rps)

    def answered(self) -> None:
        """One answer without throttling: after :data:`RECOVER_AFTER` in a row, a tenth of the top rate back."""
        with self._lock:
            if self.rps is None or self.rps == self.ceiling:
                return
            self._streak += 1
            if self._streak < RECOVER_AFTER:
                return
            self._streak = 0
            raised = self.rps + self._top / 10
            self.rps = self.ceiling if raised >= self._top * 0.999 else raised


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
        limiter = self.limiter
        lowest = round(limiter.lowest, 2) if limiter.lowest and limiter.lowest != limiter.ceiling else None
        return {
            "answers": self.answers,
            "waited_seconds": round(self.waited, 1),
            "lowest_rps": lowest,
            "final_rps": round(limiter.rps, 2) if limiter.rps else None,
            "gave_up": self.gave_up,
        }


class OutOfTime(RuntimeError):
    """The run's wall-clock budget (``--max-time``) is spent: the run stops without a verdict."""


class Budget:
    """The run's wall-clock budget: each answer may take at most what is left of it."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.spent: str | None = None

    def limit(self, timeout: float) -> float:
        """Seconds the next answer may take: ``timeout``, or less when the budget ends sooner."""
        if self.seconds is None:
            return timeout
        left = self.started + self.seconds - time.monotonic()
        if left <= 0:
            self.spent = self.spent or f"--max-time {self.seconds:g} s spent"
            raise OutOfTime(f"the run stopped: {self.spent}")
        return min(timeout, left)


PROVIDER_PAUSE = 0.5
"""Seconds before a request that got a 502 (the payment provider failed) is sent again."""


class Observer(Protocol):
    """Who sees every exchange of the run (the oracle): each answer, and each request left without one."""

    def answered(
        self, request: requests.PreparedRequest, response: requests.Response, *, transient: bool = False
    ) -> None:
        """``transient``: a documented 502 (the payment provider failed) that the session sends again."""

    def incomplete(self, request: requests.PreparedRequest, exc: IncompleteAnswer) -> BaseException: ...


class LimitedSession(requests.Session):
    """A requests session that paces every request, rides out throttling, keeps the run's budget, and hands
    every answer to its observer.

    Redirects are never followed: the answer judged is the answer to the request sent. Once a request got no
    complete answer, every later one fails the same way at once (the run stops; Hypothesis does not wait
    the deadline again for each example it replays).
    """

    def __init__(self, limiter: RateLimiter, timeout: float, budget: Budget | None = None) -> None:
        super().__init__()
        self.limiter = limiter
        self.throttle = Throttle(limiter)
        self.timeout = timeout
        self.budget = budget or Budget(None)
        self.observer: Observer | None = None
        self.broken: BaseException | None = None
        # A 502 (the payment provider failed: documented, transient by nature) is judged, then the request is sent
        # once more and that answer is the one the test gets; a second 502 is the answer. Off for the mock, whose
        # 502 is asked for.
        self.provider_retry = False
        self.provider_retries = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        what = f"{request.method} {request.path_url.split('?')[0]}"
        attempt = 0
        retried = False
        while True:
            if self.broken is not None:
                raise copy.copy(self.broken)
            if self.throttle.gave_up is not None:
                raise Throttled(f"the target throttled the run: {self.throttle.gave_up}")
            limit = self.budget.limit(self.timeout)
            self.limiter.wait()
            try:
                response = super().send(request, **{**kwargs, "timeout": limit})
            except IncompleteAnswer as exc:
                if exc.timed_out and limit < self.timeout:
                    self.budget.spent = f"--max-time {self.budget.seconds:g} s spent during {what}"
                    raise OutOfTime(f"the run stopped: {self.budget.spent}") from None
                if self.observer is None:
                    raise
                self.broken = self.observer.incomplete(request, exc)
                raise copy.copy(self.broken) from None
            delay = retry_after(response.status_code, response.headers)
            if delay is None:
                self.limiter.answered()
                transient = response.status_code == 502 and self.provider_retry and not retried
                if self.observer is not None:
                    self.observer.answered(request, response, transient=transient)
                if not transient:
                    return response
                response.close()
                retried = True
                self.provider_retries += 1
                time.sleep(PROVIDER_PAUSE)
                continue
            response.close()
            self.throttle.pause(delay, attempt, response.status_code, what)
            attempt += 1
