"""The dates of a fixture: ISO 8601 durations, calendar months, and ``start+P11D`` made absolute.

A fixture gives an organization's dates relative to the clock's start (``start+P11D``: 11 days
after it; ``start-P1Y2M``: a year and two months before), so the demo data is as fresh on any
day. The mock makes them absolute when it loads the fixtures; ``contract-tests compat`` does the
same before it checks a fixture against a document. Durations are ISO 8601 (``P30D``, ``P1M``,
``PT36H``, ``P1Y2M3DT4H5M6S``); months and years are calendar months, clamped to the month's end
(31 January plus ``P1M`` is 28 or 29 February).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
from typing import Any

__all__ = [
    "DATE_FIELDS",
    "TIMESTAMP_FIELDS",
    "Duration",
    "add_months",
    "format_timestamp",
    "parse_duration",
    "relative",
    "resolve_dates",
]

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,6})M)?(?:(?P<weeks>\d{1,6})W)?(?:(?P<days>\d{1,7})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,8})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,10})S)?)?"
)


def format_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the API writes ``createdAt``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (f"{moment.microsecond // 1000:03d}Z")


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


DATE_FIELDS = ("anniversaryDate", "pendingDowngradeEffectiveDate")
TIMESTAMP_FIELDS = ("createdAt", "updatedAt")
_RELATIVE = re.compile(r"start(?:(?P<sign>[+-])(?P<duration>P[0-9YMWDTHS]{1,40}))?")


def relative(value: Any, start: dt.datetime) -> dt.datetime | None:
    """The moment a fixture's ``start``, ``start+P12D`` or ``start-P1Y2M`` names, or None for any other value.

    Raises :class:`ValueError` for ``start...`` that is not a duration this reads.
    """
    if not isinstance(value, str) or not value.startswith("start"):
        return None
    found = _RELATIVE.fullmatch(value)
    duration = parse_duration(found["duration"]) if found and found["duration"] else None
    if found is None or (found["duration"] and duration is None):
        raise ValueError(f"{value[:60]!r} is not start, start+DURATION or start-DURATION (ISO 8601, such as P30D)")
    if duration is None:
        return start
    return duration.after(start) if found["sign"] == "+" else duration.before(start)


def resolve_dates(organization: dict[str, Any], start: dt.datetime) -> dict[str, Any]:
    """``organization`` with its dates given relative to the clock's start made absolute (a new dict when one is)."""
    found = {}
    for fields, write in (
        (DATE_FIELDS, lambda moment: moment.date().isoformat()),
        (TIMESTAMP_FIELDS, format_timestamp),
    ):
        for field in fields:
            moment = relative(organization.get(field), start)
            if moment is not None:
                found[field] = write(moment)
    return {**organization, **found} if found else organization
