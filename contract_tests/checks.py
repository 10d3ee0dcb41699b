"""Checks the contract adds to Schemathesis's own, run on every answer.

As Schemathesis's checks do, each returns True when it does not apply to the answer
(nothing judged) and None when it judged it and found it right; it raises on a violation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import Failure

from .report import Recorder

__all__ = [
    "ANNIVERSARY_DATE",
    "Check",
    "anniversary_date_is_a_date",
    "check_name",
    "error_body_documented",
    "is_calendar_date",
    "judging",
    "session_exactly_with_a_price",
    "session_problem",
    "tracking_id_unique",
]

Check = Callable[[CheckContext, Response, Case[Any]], Any]
ANNIVERSARY_DATE = "anniversaryDate"
BILLING = "POST /billing"
PRICE_FIELDS = ("messagePriceId", "budgetPriceId")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _json(response: Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return None


def error_body_documented(bodies: dict[str, set[int]] | None) -> Check:
    """A non-2xx answer carries ``{"trackingId", "error": {"code", "message"}}``, all non-empty.

    ``bodies``: per operation, the statuses whose body the contract gives; None: every 4xx and 5xx
    (the mock promises its error body on all of them).
    """

    def error_body_documented(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        status = response.status_code
        if status < 400 or (bodies is not None and status not in bodies.get(case.operation.label, set())):
            return True
        body = _json(response)
        assert isinstance(body, dict), f"The {status} answer is not a JSON object: {response.text[:200]!r}"
        tracking_id = body.get("trackingId")
        assert isinstance(tracking_id, str) and tracking_id, f"The {status} answer has no trackingId"
        error = body.get("error")
        assert isinstance(error, dict), f"The {status} answer has no error object"
        for field in ("code", "message"):
            value = error.get(field)
            assert isinstance(value, str) and value, f"The {status} answer has no error.{field}"
        return None

    return error_body_documented


def is_calendar_date(value: Any) -> bool:
    """A string in the document's ``date`` format: YYYY-MM-DD, a day that exists."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def anniversary_date_is_a_date(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """``anniversaryDate`` in a 2xx answer is a real calendar date (YYYY-MM-DD)."""
    body = _json(response) if 200 <= response.status_code < 300 else None
    if not isinstance(body, dict) or ANNIVERSARY_DATE not in body:
        return True
    value = body[ANNIVERSARY_DATE]
    assert is_calendar_date(value), f"anniversaryDate {value!r} is not a calendar date (YYYY-MM-DD)"
    return None


def session_problem(request_body: Any, answer: Any) -> str | None:
    """The session rule on a 2xx answer to POST /billing: ``sessionId`` and ``url`` exactly when a price was given.

    None when the answer keeps it; otherwise what the rule wanted.
    """
    given = [field for field in PRICE_FIELDS if isinstance(request_body, dict) and field in request_body]
    data = answer if isinstance(answer, dict) else {}
    if given:
        session = data.get("sessionId")
        if isinstance(session, str) and session and data.get("url"):
            return None
        return f"sessionId and url, since {' and '.join(given)} was given"
    if "sessionId" in data or "url" in data:
        return "no sessionId or url without a price"
    return None


def session_exactly_with_a_price(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """:func:`session_problem` on a 2xx answer to POST /billing."""
    if case.operation.label != BILLING or not 200 <= response.status_code < 300:
        return True
    problem = session_problem(case.body, _json(response))
    assert problem is None, f"Expected {problem}"
    return None


def tracking_id_unique(seen: set[str]) -> Check:
    """A check remembering every error ``trackingId`` of the run: none may come back twice."""

    def tracking_id_unique(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        body = _json(response) if response.status_code >= 400 else None
        tracking_id = body.get("trackingId") if isinstance(body, dict) else None
        if not isinstance(tracking_id, str) or not tracking_id:
            return True
        assert tracking_id not in seen, f"trackingId {tracking_id!r} was already used by an earlier answer"
        seen.add(tracking_id)
        return None

    return tracking_id_unique


def judging(check: Check, recorder: Recorder) -> Check:
    """``check``, counting each answer it judged (it did not return True) for the coverage table."""

    def judged(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        try:
            skipped = check(ctx, response, case)
        except BaseException:
            recorder.ran(case.operation.label, check.__name__)
            raise
        if not skipped:
            recorder.ran(case.operation.label, check.__name__)
        return skipped  # type: ignore[no-any-return]

    judged.__name__ = check.__name__
    return judged


def check_name(failure: Failure) -> str:
    """The check a Schemathesis failure came from."""
    names = type(failure).checks
    if names:
        return names[0]
    title = failure.title
    return title.split("`")[1] if "`" in title else title
