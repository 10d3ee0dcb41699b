"""Whether an answer is throttling: ``429``, or ``503`` with ``Retry-After``, and how long it asks to wait.

Throttling keeps the contract: the suite waits it out, the proxy's verdict does not
judge it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

__all__ = ["DEFAULT_WAIT", "retry_after"]

DEFAULT_WAIT = 1.0  # a 429 without Retry-After
LONGEST_RETRY_AFTER = 10**9  # seconds: a Retry-After of more digits reads as this


def retry_after(status: int, headers: Any) -> float | None:
    """Seconds to wait before retrying, or None when the answer is not throttling.

    ``headers``: a mapping with lower-case names. ``Retry-After`` is delay-seconds or an
    HTTP date (RFC 9110 10.2.3).
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
