"""The checks of the suite: the oracle's (:mod:`billing_contract.checks`), counted per answer for the coverage table."""

from __future__ import annotations

from schemathesis import Case, CheckContext, Response

from billing_contract.checks import (
    ANNIVERSARY_DATE,
    PRICE_FIELDS,
    Check,
    check_name,
    session_problem,
)
from billing_contract.dates import is_calendar_date

from .report import Recorder

__all__ = ["ANNIVERSARY_DATE", "PRICE_FIELDS", "Check", "check_name", "is_calendar_date", "judging", "session_problem"]


def judging(check: Check, recorder: Recorder) -> Check:
    """``check``, counting each answer it judged (it did not return True) for the coverage table."""

    def judged(ctx: CheckContext, response: Response, case: Case) -> bool | None:  # type: ignore[type-arg]
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
