"""Checks the contract adds to Schemathesis's own, run on every answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemathesis import Case, CheckContext, Response

from mock_server.spec import is_date

__all__ = ["CONTRACT_CHECKS", "ANNIVERSARY_DATE", "error_body_documented", "is_calendar_date", "tracking_id_unique"]

Check = Callable[[CheckContext, Response, Case[Any]], Any]
ANNIVERSARY_DATE = "anniversaryDate"


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_body_documented(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every non-2xx answer carries ``{"trackingId", "error": {"code", "message"}}``, all non-empty."""
    if response.status_code < 400:
        return None
    body = _json(response)
    assert isinstance(body, dict), f"The {response.status_code} answer is not a JSON object: {response.text[:200]!r}"
    tracking_id = body.get("trackingId")
    assert isinstance(tracking_id, str) and tracking_id, f"The {response.status_code} answer has no trackingId"
    error = body.get("error")
    assert isinstance(error, dict), f"The {response.status_code} answer has no error object"
    for field in ("code", "message"):
        value = error.get(field)
        assert isinstance(value, str) and value, f"The {response.status_code} answer has no error.{field}"
    return True


def is_calendar_date(value: Any) -> bool:
    """A string in the document's ``date`` format: YYYY-MM-DD, a day that exists."""
    return isinstance(value, str) and is_date(value)


def anniversary_date_is_a_date(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """``anniversaryDate`` in a 2xx answer is a real calendar date (YYYY-MM-DD)."""
    if not 200 <= response.status_code < 300:
        return None
    body = _json(response)
    if not isinstance(body, dict) or ANNIVERSARY_DATE not in body:
        return None
    value = body[ANNIVERSARY_DATE]
    assert is_calendar_date(value), f"anniversaryDate {value!r} is not a calendar date (YYYY-MM-DD)"
    return True


def tracking_id_unique(seen: set[str]) -> Check:
    """A check remembering every error ``trackingId`` of the run: none may come back twice."""

    def tracking_id_unique(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        if response.status_code < 400:
            return None
        body = _json(response)
        tracking_id = body.get("trackingId") if isinstance(body, dict) else None
        if not isinstance(tracking_id, str) or not tracking_id:
            return None
        assert tracking_id not in seen, f"trackingId {tracking_id!r} was already used by an earlier answer"
        seen.add(tracking_id)
        return True

    return tracking_id_unique


CONTRACT_CHECKS: tuple[Check, ...] = (error_body_documented, anniversary_date_is_a_date)
