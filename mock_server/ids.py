"""Identifiers shaped like Stripe's: ``prefix_`` + a time part + a random part; and trackingIds.

The time part makes ids sort roughly by creation, as Stripe's do. :class:`Ids` makes
them for one app: from the operating system's randomness and the wall clock by
default, or, with ``--clock-start``, from a PRNG seeded with ``--seed`` and the
frozen clock, so that a run repeats to the byte (its ids are then predictable:
a setting for tests, not for a mock others can reach).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import time
import weakref
from collections.abc import Callable

__all__ = ["Ids", "new_id", "new_tracking_id"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def _uuid4(bits: int) -> str:
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[bits & 3]}{text[17:20]}-{text[20:]}"


class Ids:
    """The ids of one app. ``seed``: draw them from a PRNG seeded so, and take the time part from ``clock``."""

    def __init__(self, seed: int | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._seeded = random.Random(seed) if seed is not None else None  # noqa: S311 - reproducible on purpose
        self._clock = clock
        # A tracking id is a label, not a secret: a PRNG (a third of os.urandom's cost), seeded from the OS.
        self._tracking = self._seeded or random.Random()  # noqa: S311
        _LIVE.add(self)  # --workers: each worker draws its own ids

    def _reseed(self) -> None:
        self._tracking.seed()
        if self._seeded is not None:
            self._seeded.seed()

    def new(self, prefix: str, random_chars: int = 14) -> str:
        """A new id such as ``cus_0Q3xZk7fPq2LmN8rTs`` or ``cs_test_0Q3xZk...``."""
        milliseconds = int(self._clock().timestamp() * 1000) if self._clock else time.time_ns() // 1_000_000
        if self._seeded is not None:
            random_part = "".join(self._seeded.choices(_ALPHABET, k=random_chars))
        else:
            random_part = "".join(secrets.choice(_ALPHABET) for _ in range(random_chars))
        return f"{prefix}_{_base62(milliseconds, 7)}{random_part}"

    def tracking(self) -> str:
        """A request's tracking id: a random (version 4) UUID, unique per request."""
        return _uuid4(self._tracking.getrandbits(128))


_LIVE: weakref.WeakSet[Ids] = weakref.WeakSet()


def _reseed_after_fork() -> None:
    for ids in list(_LIVE):
        ids._reseed()


os.register_at_fork(after_in_child=_reseed_after_fork)
_DEFAULT = Ids()


def new_id(prefix: str, random_chars: int = 14) -> str:
    """An id from the operating system's randomness and the wall clock."""
    return _DEFAULT.new(prefix, random_chars)


def new_tracking_id() -> str:
    """A tracking id, for what happens outside any app (a request the HTTP layer refuses)."""
    return _DEFAULT.tracking()
