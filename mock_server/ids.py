"""Identifiers shaped like Stripe's: ``prefix_`` + a time part + a random part.

The time part makes ids sort roughly by creation, as Stripe's do.
"""

from __future__ import annotations

import secrets
import time
import uuid

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


def new_tracking_id() -> str:
    """A request's tracking id: unique per request."""
    return str(uuid.uuid4())
