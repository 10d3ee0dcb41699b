"""Identifiers shaped like Stripe's: ``prefix_`` + a time part + a random part.

The time part makes ids sort roughly by creation, as Stripe's do.
"""

from __future__ import annotations

import os
import random
import secrets
import time

__all__ = ["new_id", "new_tracking_id"]

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def new_id(prefix: str, random_chars: int = 14) -> str:
    """A new id such as ``cus_0Q3xZk7fPq2LmN8rTs`` or ``cs_test_0Q3xZk...``."""
    time_part = _base62(time.time_ns() // 1_000_000, 7)
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(random_chars))
    return f"{prefix}_{time_part}{random_part}"


_tracking = random.Random()  # noqa: S311 - a tracking id is a label, not a secret; seeded from the OS
os.register_at_fork(after_in_child=_tracking.seed)  # --workers: each worker draws its own ids


def new_tracking_id() -> str:
    """A request's tracking id: a random (version 4) UUID, unique per request.

    Drawn from a seeded PRNG, not ``os.urandom`` (``uuid.uuid4``): a third of the cost.
    """
    bits = _tracking.getrandbits(128)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[bits & 3]}{text[17:20]}-{text[20:]}"
