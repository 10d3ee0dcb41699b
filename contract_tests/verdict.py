"""The contract suite's checks on one exchange someone else sent: the verdict of ``mock-server --proxy``.

:func:`judge` takes a request and the answer it got, builds the Schemathesis ``Case``
and ``Response`` the suite's own checks take, and runs those checks that can judge one
observed answer: the status, media type, headers and schema the document gives, the
error body where the document gives one, ``anniversaryDate``, and the session rule
(:func:`~contract_tests.checks.session_problem`). Not judged: what needs generated
requests or several calls (negative data, missing headers, tenant isolation,
get-or-create), ``not_a_server_error`` (a documented 500 keeps the contract), and an
answer that throttles (``429``, or ``503`` with ``Retry-After``), which the suite waits out.

The document is the reference contract (``Document(mock=False)``): the mock's own
promises (the 401 and 500 bodies) are not held against the deployment.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import requests
import schemathesis
from schemathesis import Response
from schemathesis.checks import CHECKS, CheckContext, load_all_checks, run_checks
from schemathesis.core.failures import Failure, FailureGroup

from mock_server.validation import media_type  # the proxy's verdict: media types read as the mock reads them

from . import document
from .checks import Check, anniversary_date_is_a_date, error_body_documented, session_exactly_with_a_price
from .throttle import retry_after

__all__ = ["BUILTIN_CHECKS", "Verdict", "Violation", "judge", "shipped"]

BUILTIN_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
"""Schemathesis's checks (of the suite's, contract_tests/test_operations.py) that judge one observed answer."""
_BASE_URL = "http://upstream"
"""The address the built requests name: no check reads it, and the real one may carry secrets."""


class Violation(NamedTuple):
    check: str
    message: str


def _message(failure: Failure) -> str:
    """Schemathesis's title and the first line of its message; the contract's own checks: their message."""
    lines = [line.strip() for line in failure.message.splitlines() if line.strip()][:1]
    title = "" if failure.title.startswith("Custom check failed") else failure.title
    parts = [title] if title else []
    parts += [line for line in lines if line != title]
    return ": ".join(parts)[:500]


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


class Verdict:
    """The document's operations and the checks, prepared once for :func:`judge`."""

    def __init__(self, raw: dict[str, Any] | None = None) -> None:
        load_all_checks()
        contract = document.Document(raw if raw is not None else document.load(None), mock=False)
        self.schema = schemathesis.openapi.from_dict(contract.raw)
        registered = {check.__name__: check for check in CHECKS.get_all()}
        self.checks: list[Check] = [
            _guarded(check)
            for check in [registered[name] for name in BUILTIN_CHECKS]
            + [error_body_documented(contract.error_bodies()), anniversary_date_is_a_date, session_exactly_with_a_price]
        ]
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


@functools.cache
def shipped() -> Verdict:
    """The verdict of the document shipped with the package, prepared once."""
    return Verdict()


def _unshaped(operation: Any, kind: str | None, body_sent: bool) -> bool:
    """A request of a shape the document does not give (a body of a media type the operation does not take):
    what its answer should be the document does not say, as Schemathesis skips its request-shape probes."""
    if not body_sent:
        return False
    return media_type(kind)[0] not in {body.media_type.lower() for body in operation.body}


def judge(
    method: str,
    path: str,
    request_headers: Mapping[str, str],
    request_body: Any,
    status: int,
    response_headers: Iterable[tuple[str, str]],
    response_body: bytes,
    *,
    body_sent: bool | None = None,
    verdict: Verdict | None = None,
) -> list[Violation]:
    """The violations of one exchange (``verdict``: the shipped document's by default).

    ``request_headers`` with lower-case names; ``request_body`` parsed (None: none, or not JSON);
    ``body_sent``: whether the request had a body (default: ``request_body`` is not None).
    None for an operation the document does not give.
    """
    verdict = verdict or shipped()
    found = verdict.operations.get((method.upper(), path))
    if found is None:
        return []
    operation, context, sent = found
    kind = request_headers.get("content-type")
    if _unshaped(operation, kind, request_body is not None if body_sent is None else body_sent):
        return []
    kind = kind if request_body is not None else None
    case = operation.Case(body=request_body, media_type=kind) if request_body is not None else operation.Case()
    headers: dict[str, list[str]] = {}
    for name, value in response_headers:
        headers.setdefault(name.lower(), []).append(value)
    if retry_after(status, {name: values[0] for name, values in headers.items()}) is not None:
        return []  # throttling (429, or 503 with Retry-After) keeps the contract, as in the suite
    response = Response(status, headers, response_body, sent, 0.0, True)
    seen: list[Violation] = []

    def failed(name: str, collected: set[Failure], failure: Failure) -> None:
        collected.add(failure)
        seen.append(Violation(name, _message(failure)))

    run_checks(case=case, response=response, ctx=context, checks=verdict.checks, on_failure=failed)
    return seen
