"""The checks the contract adds to Schemathesis's own, each judging one answer.

As Schemathesis's checks do, each returns True when it does not apply to the answer
(nothing judged) and None when it judged it and found it right; it raises on a
violation. :mod:`billing_contract.verdict` runs them with Schemathesis's, on every
answer the suite receives and every answer ``mock-server --proxy`` passes on.
Needs the ``contract`` extra.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import Failure

from .dates import is_calendar_date
from .media import is_json, media_type

__all__ = [
    "ANNIVERSARY_DATE",
    "absolute_http_url",
    "PRICE_FIELDS",
    "Check",
    "anniversary_date_is_a_date",
    "check_name",
    "error_body_documented",
    "error_body_problem",
    "session_exactly_with_a_price",
    "session_problem",
    "strict_json",
    "tracking_id_unique",
]

Check = Callable[[CheckContext, Response, Case[Any]], Any]
ANNIVERSARY_DATE = "anniversaryDate"
BILLING = "POST /billing"
PRICE_FIELDS = ("messagePriceId", "budgetPriceId")
EXCERPT = 120  # characters of an answer a message quotes


def _json(response: Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        return None


def _excerpt(content: bytes) -> str:
    text = content[: EXCERPT * 4].decode("utf-8", "replace")
    return repr(text[:EXCERPT]) + (" ..." if len(content) > EXCERPT else "")


def _documented(bodies: dict[str, set[int]] | None, case: Case[Any], status: int) -> bool:
    """Whether the document gives the answer of ``status`` a body (``bodies`` None: every 4xx and 5xx)."""
    if bodies is None:
        return status >= 400
    return status in bodies.get(case.operation.label, set())


def error_body_problem(body: Any) -> str | None:
    """What the documented error body ``{"trackingId", "error": {"code", "message"}}`` lacks, or None."""
    if not isinstance(body, dict):
        return "is not a JSON object"
    tracking_id = body.get("trackingId")
    if not isinstance(tracking_id, str) or not tracking_id:
        return "has no trackingId"
    error = body.get("error")
    if not isinstance(error, dict):
        return "has no error object"
    for field in ("code", "message"):
        value = error.get(field)
        if not isinstance(value, str) or not value:
            return f"has no error.{field}"
    return None


def error_body_documented(bodies: dict[str, set[int]] | None) -> Check:
    """A non-2xx answer carries ``{"trackingId", "error": {"code", "message"}}``, all non-empty.

    ``bodies``: per operation, the statuses whose body the contract gives; None: every 4xx and 5xx
    (the mock promises its error body on all of them).
    """

    def error_body_documented(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        status = response.status_code
        if status < 400 or not _documented(bodies, case, status):
            return True
        problem = error_body_problem(_json(response))
        assert problem is None, f"The {status} answer {problem}: {_excerpt(response.content)}"
        return None

    return error_body_documented


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(bodies: dict[str, set[int]] | None) -> Check:
    """A JSON answer the document gives a body is JSON as RFC 8259 has it: UTF-8 without a byte order mark,
    no ``NaN`` or ``Infinity``. (Python's reader, and so the schema check, takes all three.)"""

    def strict_json(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        status = response.status_code
        kind = media_type(response.headers.get("content-type", [""])[0])[0]
        if not is_json(kind) or not (200 <= status < 300 or _documented(bodies, case, status)):
            return True
        content = response.content
        assert not content.startswith(b"\xef\xbb\xbf"), "The answer starts with a byte order mark (RFC 8259 8.1)"
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AssertionError(f"The answer is not UTF-8 (byte {exc.start}): {_excerpt(content)}") from None
        try:
            json.loads(text, parse_constant=_no_constant)
        except RecursionError:
            raise AssertionError("The answer is JSON nested deeper than can be read") from None
        except ValueError as exc:
            raise AssertionError(f"The answer is not JSON ({str(exc)[:80]}): {_excerpt(content)}") from None
        return None

    return strict_json


def anniversary_date_is_a_date(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """``anniversaryDate`` in a 2xx answer is a real calendar date (YYYY-MM-DD)."""
    body = _json(response) if 200 <= response.status_code < 300 else None
    if not isinstance(body, dict) or ANNIVERSARY_DATE not in body:
        return True
    value = body[ANNIVERSARY_DATE]
    assert is_calendar_date(value), f"anniversaryDate {str(value)[:40]!r} is not a calendar date (YYYY-MM-DD)"
    return None


def absolute_http_url(value: Any) -> bool:
    """An absolute http(s) URL, as a checkout page's address is."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def session_problem(request_body: Any, answer: Any) -> str | None:
    """The session rule on a 2xx answer to POST /billing: ``sessionId`` and ``url`` exactly when a price was given.

    None when the answer keeps it; otherwise what the rule wanted.
    """
    given = [field for field in PRICE_FIELDS if isinstance(request_body, dict) and field in request_body]
    data = answer if isinstance(answer, dict) else {}
    if given:
        session = data.get("sessionId")
        if isinstance(session, str) and session and absolute_http_url(data.get("url")):
            return None
        return f"sessionId and an absolute http(s) url, since {' and '.join(given)} was given"
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
        assert tracking_id not in seen, f"trackingId {tracking_id[:80]!r} was already used by an earlier answer"
        seen.add(tracking_id)
        return None

    return tracking_id_unique


def check_name(failure: Failure) -> str:
    """The check a Schemathesis failure came from."""
    names = type(failure).checks
    if names:
        return names[0]
    title = failure.title
    return title.split("`")[1] if "`" in title else title
