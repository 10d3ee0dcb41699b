"""The document's ``date`` format: a calendar date, ``YYYY-MM-DD``, a day that exists."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["is_calendar_date"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_calendar_date(value: object) -> bool:
    """A string of the form YYYY-MM-DD naming a day that exists (not ``2027-02-30``)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
