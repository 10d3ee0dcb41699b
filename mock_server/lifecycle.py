"""Billing time: what the passing of time does to an organization, computed when it is read.

From what the reference pages state, and nothing more (docs/guide.md, "Billing time"):

- ``anniversaryDate`` is "when the billing cycle resets". When the clock reaches
  that day (00:00 UTC), a new cycle starts: ``anniversaryDate`` moves one month on
  (clamped to the month's end: 31 January, then 28 February, then 28 March), as
  often as needed, so an organization never answers a reset day already gone.
- A pending downgrade takes effect on ``pendingDowngradeEffectiveDate`` (00:00
  UTC): the caps become the ``pendingDowngrade*Cap`` ones, ``organizationType``
  becomes ``pendingDowngradeAccountType`` (when given), and every
  ``pendingDowngrade*`` field goes.
- ``updatedAt`` becomes the moment of the latest of those changes.

No background job: :func:`as_of` is applied to every organization read, and what a
request stores is what it read, so the same moment always shows the same
organization, on any process. Not modelled: a ``past_due`` subscription does not
turn ``canceled``, usage does not reset (the mock meters none), a trial does not end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing_contract.fixture_dates import (
    DATE_FIELDS,
    TIMESTAMP_FIELDS,
    add_months,
    format_timestamp,
    relative,
    resolve_dates,
)

__all__ = ["CAP_FIELDS", "DATE_FIELDS", "PENDING", "TIMESTAMP_FIELDS", "as_of", "relative", "resets", "resolve_dates"]

PENDING = {
    "messagesCap": "pendingDowngradeMessagesCap",
    "costCap": "pendingDowngradeCostCap",
    "smsCap": "pendingDowngradeSmsCap",
    "callCap": "pendingDowngradeCallCap",
}
CAP_FIELDS = tuple(PENDING)
_PENDING_ALL = (*PENDING.values(), "pendingDowngradeEffectiveDate", "pendingDowngradeAccountType")


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def resets(anniversary: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last reset day up to ``today`` and the next one after it, moving ``anniversary`` on one
    month at a time (``anniversary`` itself must be up to ``today``)."""
    previous, day = anniversary, anniversary
    while day <= today:
        if day.day <= 28:  # from here no month clamps the day: jump the rest of the way at once
            months = (today.year - day.year) * 12 + today.month - day.month
            candidate = add_months(day, months)
            if candidate <= today:
                return candidate, add_months(candidate, 1)
            return add_months(candidate, -1), candidate
        previous, day = day, add_months(day, 1)
    return previous, day


def as_of(organization: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """``organization`` as it stands at ``now`` (the same dict when time changed nothing)."""
    today = now.date()
    anniversary = organization.get("anniversaryDate")
    effective = organization.get("pendingDowngradeEffectiveDate")
    due = _date(effective) if effective is not None else None
    if (not isinstance(anniversary, str) or anniversary > today.isoformat()) and (due is None or due > today):
        return organization  # the usual case: nothing happened yet (ISO dates compare as text)
    changed = dict(organization)
    moments: list[dt.datetime] = []
    if due is not None and due <= today:
        for field, pending in PENDING.items():
            if pending in changed:
                changed[field] = changed[pending]
        if changed.get("pendingDowngradeAccountType"):
            changed["organizationType"] = changed["pendingDowngradeAccountType"]
        for field in _PENDING_ALL:
            changed.pop(field, None)
        moments.append(_midnight(due))
    start = _date(anniversary)
    if start is not None and start <= today:
        last, following = resets(start, today)
        changed["anniversaryDate"] = following.isoformat()
        moments.append(_midnight(last))
    if moments:
        latest = format_timestamp(max(moments))
        if latest > str(changed.get("updatedAt", "")):
            changed["updatedAt"] = latest
    return changed
