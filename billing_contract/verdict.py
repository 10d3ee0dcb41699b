"""The one oracle: every check that can judge one answer, run on one exchange.

:meth:`Verdict.judge` takes a request and the answer it got, builds the Schemathesis
``Case`` and ``Response`` the checks take, and runs, through Schemathesis's registry
and ``run_checks``, every check that applies: the status, media type, headers and
schema (formats included) the document gives, the error body where the document
gives one, strict JSON, ``anniversaryDate``, and the session rule
(:func:`~billing_contract.checks.session_problem`). ``mock-server --proxy`` judges
what it passes on with it; the contract suite judges every answer it receives with
it, and adds what only its own requests deserve (``server_errors``: no 5xx;
``tracking_ids``: no error ``trackingId`` twice).

Not judged here: what needs generated requests or several calls (negative data,
missing headers, tenant isolation, get-or-create: the suite's tests), and an answer
that throttles (``429``, or ``503`` with ``Retry-After``), which the suite waits out.

Unless ``mock`` is set, the document is the reference contract: the mock's own
promises (the 401 and 500 bodies) are not held against a deployment. Needs the
``contract`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import requests
import schemathesis
from schemathesis import Response
from schemathesis.checks import CHECKS, CheckContext, load_all_checks, run_checks
from schemathesis.core.failures import Failure, FailureGroup

from .checks import (
    Check,
    anniversary_date_is_a_date,
    error_body_documented,
    session_exactly_with_a_price,
    strict_json,
    tracking_id_unique,
)
from .document import Document
from .media import media_type
from .throttling import retry_after

__all__ = ["BUILTIN_CHECKS", "Verdict", "Violation", "failure_message"]

BUILTIN_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
"""Schemathesis's checks that judge one observed answer."""
_BASE_URL = "http://upstream"
"""The address the built requests name: no check reads it, and the real one may carry secrets."""
MESSAGE = 500  # characters of a violation's message


class Violation(NamedTuple):
    check: str
    message: str


def failure_message(failure: Failure) -> str:
    """Schemathesis's title and the first line of its message; the contract's own checks: their message."""
    lines = [line.strip() for line in failure.message.splitlines() if line.strip()][:1]
    title = "" if failure.title.startswith("Custom check failed") else failure.title
    parts = [title] if title else []
    parts += [line for line in lines if line != title]
    return ": ".join(parts)[:MESSAGE]


def _guarded(check: Check) -> Check:
    """``check``, failing (not crashing) on an answer it cannot read, such as JSON nested thousands deep."""

    def guarded(ctx: CheckContext, response: Response, case: Any) -> Any:
        try:
            return check(ctx, response, case)
        except (Failure, FailureGroup, AssertionError):
            raise
        except Exception as exc:
            raise AssertionError(f"The answer could not be judged ({type(exc).__name__})") from None

    guarded.__name__ = check.__name__
    return guarded


def _counted(check: Check, judged: Callable[[str], None]) -> Check:
    """``check``, telling ``judged`` its name for each answer it judged (did not return True)."""

    def counted(ctx: CheckContext, response: Response, case: Any) -> Any:
        try:
            skipped = check(ctx, response, case)
        except BaseException:
            judged(check.__name__)
            raise
        if not skipped:
            judged(check.__name__)
        return skipped

    counted.__name__ = check.__name__
    return counted


class Verdict:
    """The document's operations and the checks, prepared once.

    ``mock``: hold the target to the mock's own promises too (the 401 and 500 bodies).
    ``server_errors``: a 5xx is a violation (the suite's requests; the proxy passes on a documented 500).
    ``tracking_ids``: remember every error ``trackingId`` here; one seen twice is a violation.
    """

    def __init__(
        self,
        raw: dict[str, Any],
        *,
        mock: bool = False,
        server_errors: bool = False,
        tracking_ids: set[str] | None = None,
    ) -> None:
        load_all_checks()
        contract = Document(raw, mock=mock)
        self.schema = schemathesis.openapi.from_dict(contract.raw)
        registered = {check.__name__: check for check in CHECKS.get_all()}
        bodies = None if mock else contract.error_bodies()
        checks: list[Check] = [registered["not_a_server_error"]] if server_errors else []
        checks += [registered[name] for name in BUILTIN_CHECKS]
        checks += [error_body_documented(bodies), strict_json(bodies)]
        checks += [anniversary_date_is_a_date, session_exactly_with_a_price]
        if tracking_ids is not None:
            checks.append(tracking_id_unique(tracking_ids))
        self.checks = [_guarded(check) for check in checks]
        self.names = tuple(check.__name__ for check in self.checks)
        self.operations: dict[tuple[str, str], tuple[Any, CheckContext, requests.PreparedRequest]] = {}
        for label in contract.operations():
            method, _, path = label.partition(" ")
            operation = self.schema[path][method]
            config = self.schema.config.checks_config_for(operation=operation)
            context = CheckContext(
                override=None, auth=None, headers=None, config=config, transport_kwargs=None, response_checks=None
            )
            sent = requests.Request(method, _BASE_URL + path).prepare()  # the same for every exchange
            self.operations[(method, path)] = (operation, context, sent)

    def judge(
        self,
        method: str,
        path: str,
        request_headers: Mapping[str, str],
        request_body: Any,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        response_body: bytes,
        *,
        body_sent: bool | None = None,
        judged: Callable[[str], None] | None = None,
        failures: list[Failure] | None = None,
    ) -> list[Violation]:
        """The violations of one exchange; [] for an operation the document does not give.

        ``request_headers`` with lower-case names; ``request_body`` parsed (None: none, or not JSON);
        ``body_sent``: whether the request had a body (default: ``request_body`` is not None);
        ``judged``: told the name of each check that judged the answer; ``failures``: given Schemathesis's
        failures too (a schema violation's ``instance_path`` names the field).
        """
        found = self.operations.get((method.upper(), path))
        if found is None:
            return []
        operation, context, sent = found
        kind = request_headers.get("content-type")
        body_sent = request_body is not None if body_sent is None else body_sent
        if _unshaped(operation, kind, body_sent) or (status == 415 and not body_sent and not kind):
            return []  # a shape the document does not give: a body it does not take, or (415) no body at all
        kind = kind if request_body is not None else None
        case = operation.Case(body=request_body, media_type=kind) if request_body is not None else operation.Case()
        headers: dict[str, list[str]] = {}
        for name, value in response_headers:
            headers.setdefault(name.lower(), []).append(value)
        if retry_after(status, {name: values[0] for name, values in headers.items()}) is not None:
            return []  # throttling (429, or 503 with Retry-After) keeps the contract
        response = Response(status, headers, response_body, sent, 0.0, True)
        seen: list[Violation] = []

        def failed(name: str, collected: set[Failure], failure: Failure) -> None:
            collected.add(failure)
            seen.append(Violation(name, failure_message(failure)))
            if failures is not None:
                failures.append(failure)

        checks = self.checks if judged is None else [_counted(check, judged) for check in self.checks]
        run_checks(case=case, response=response, ctx=context, checks=checks, on_failure=failed)
        return seen


def _unshaped(operation: Any, kind: str | None, body_sent: bool) -> bool:
    """A request of a shape the document does not give (a body of a media type the operation does not take):
    what its answer should be the document does not say, as Schemathesis skips its request-shape probes.
    Nor does it say whether a request without a body or a Content-Type gets 400 or 415 (RFC 9110 15.5.16)."""
    if not body_sent:
        return False
    return media_type(kind)[0] not in {body.media_type.lower() for body in operation.body}
