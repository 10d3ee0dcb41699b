"""The request a failure block shows: the failing request, without the generator's probe headers when the failure
does not need them.

Schemathesis fills in what the document allows, so a generated request may carry an empty ``Prefer``
(``-H 'Prefer;'``) or its own probe headers (``x-schemathesis-unknown-property: 42``). Whether such a
header is part of the failure is decided by the check that failed:

- the checks of one account's identity across the run (``same_organization``, ``same_stripe_customer``,
  ``tenant_isolation``) compare what the credentials name: the probe headers are not part of it;
- every other check of the oracle judges the answer: the request is sent once more without the probe
  headers and the check judges that answer too. Still failing, the block shows the request without
  them; passing (or no answer), the headers made the answer wrong and the block keeps them.

The checks of a generated case judge the request itself: ``negative_data_rejection`` keeps the probe
headers when the case's headers were generated to break the document (they may be what the target should
have refused); otherwise, and for ``missing_required_header`` and ``unsupported_method`` (a header left
out, a method), they go.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from .answer import Answer

__all__ = ["IDENTITY_CHECKS", "case_reproduction", "probe_headers", "without_probes"]

IDENTITY_CHECKS = frozenset({"same_organization", "same_stripe_customer", "tenant_isolation"})
_KEPT = {"authorization", "content-type", "content-length"}  # what the request means, even empty


def probe_headers(answer: Answer) -> tuple[str, ...]:
    """The generator's headers a reproduction may leave out: Schemathesis's own, and any sent empty."""
    return tuple(
        name
        for name, value in answer.request_headers
        if name.lower() not in _KEPT and (name.lower().startswith("x-schemathesis-") or not value.strip())
    )


def without_probes(
    request: requests.PreparedRequest,
    answer: Answer,
    checks: list[str],
    judge_again: Callable[[requests.PreparedRequest], set[str] | None],
) -> dict[str, Answer]:
    """Per failed check, the answer whose request its block shows.

    ``judge_again``: sends a request and gives the checks its answer fails (None: no answer).
    Called at most once, and only when a probe header was sent and a check needs it decided.
    """
    probes = probe_headers(answer)
    shown = dict.fromkeys(checks, answer)
    if not probes:
        return shown
    plain = answer.without_headers(probes)
    undecided = [check for check in checks if check not in IDENTITY_CHECKS]
    still: set[str] | None = set()
    if undecided:
        replay = request.copy()
        for name in probes:
            del replay.headers[name]
        still = judge_again(replay)
    for check in checks:
        if check in IDENTITY_CHECKS or (still is not None and check in still):
            shown[check] = plain
    return shown


def case_reproduction(answer: Answer, check: str, *, invalid_headers: bool) -> Answer:
    """The answer whose request the block of a generated case's check shows (``invalid_headers``: the case's
    headers were generated to break the document)."""
    if check == "negative_data_rejection" and invalid_headers:
        return answer
    return answer.without_headers(probe_headers(answer))
