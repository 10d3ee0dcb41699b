"""Every answer the suite receives, judged by the one oracle and recorded.

The target's session hands this :class:`Oracle` each answer before any test sees it
(:class:`~contract_tests.throttle.LimitedSession`): from the preflight, the probes, the
rules, the state machines and Schemathesis's cases alike, for every credential. It
runs :class:`billing_contract.verdict.Verdict` on it (status, media type, headers,
schema and formats, error body, strict JSON, anniversaryDate, the session rule, no
5xx, no trackingId twice), counts what each check judged, and records each violation
as a failure block; against a deployment, it also notes what the answer carries that the
document does not name (:class:`billing_contract.drift.Drift`), reported as warnings. A
test goes on with its own property; the plugin fails it at its end when the oracle found
something meanwhile (:attr:`Oracle.pending`).

A request that got no complete answer (deadline, size cap, broken off) is a failure of
its own, ``complete_answer``; the run stops there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import requests
from schemathesis.core.failures import Failure

from billing_contract.checks import check_name
from billing_contract.drift import Drift
from billing_contract.media import is_json, media_type
from billing_contract.verdict import Verdict, Violation, failure_message

from . import document
from .answer import Answer
from .report import Finding, Recorder, request_digest
from .report import Violation as Failed
from .reproduce import case_reproduction, probe_headers, without_probes
from .sent import record
from .target import PreflightError, Target
from .transport import IncompleteAnswer

__all__ = ["COMPLETE_ANSWER", "EXPECTATIONS", "Oracle", "case_finding", "expectation", "judging"]

COMPLETE_ANSWER = "complete_answer"
EXPECTATIONS = {
    "not_a_server_error": "no 5xx answer",
    "status_code_conformance": "a status the document gives this operation",
    "content_type_conformance": "the content type the document gives this answer",
    "response_headers_conformance": "the headers the document gives this answer",
    "response_schema_conformance": "a body that matches the document's schema",
    "negative_data_rejection": "a 4xx answer to a request the document does not allow",
    "missing_required_header": "a 4xx answer to a request without a required header",
    "unsupported_method": "405 to a method the document does not give this path",
    "error_body_documented": "the documented error body: trackingId, error.code, error.message",
    "strict_json": "JSON as RFC 8259 has it: UTF-8, no byte order mark, no NaN or Infinity",
    "anniversary_date_is_a_date": "anniversaryDate a calendar date (YYYY-MM-DD)",
    "session_exactly_with_a_price": "sessionId and url exactly when a price is given",
    "tracking_id_unique": "a trackingId no earlier answer used",
    "same_organization": "one organization for one account's credentials, all run long",
    "same_stripe_customer": "one Stripe customer for one account, all run long (get or create)",
    "tenant_isolation": "each account's own organization and Stripe customer",
}


def expectation(check: str, message: str) -> str:
    """What the document wants, then the check's words for what went wrong."""
    wanted = EXPECTATIONS.get(check)
    return f"{wanted} ({message})" if wanted and message else wanted or message


def case_finding(
    operation: str, failure: Failure, answer: Answer, *, invalid_headers: bool = False, target: Target | None = None
) -> Finding:
    """A failure of one of Schemathesis's case checks, worded as the oracle words its own: an assert in a check is
    not "Custom check failed". ``invalid_headers``: the case's headers were generated to break the document.
    With ``target``, the finding keeps the request as shown, for replay."""
    name = check_name(failure)
    said = failure_message(failure)
    shown = case_reproduction(answer, name, invalid_headers=invalid_headers)
    request = None if target is None else record(shown, target)
    return Finding(operation, name, said, shown.describe(expectation(name, said)), request)


def _sent(request: requests.PreparedRequest) -> tuple[bytes | None, dict[str, str]]:
    """The body of ``request`` as bytes (None without one) and its headers by lower-case name."""
    body = request.body.encode() if isinstance(request.body, str) else request.body
    return (body if isinstance(body, bytes) else None), {
        name.lower(): str(value) for name, value in request.headers.items()
    }


def _parsed(body: bytes | None, kind: str) -> Any:
    if not body or not is_json(kind):
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


class Oracle:
    """The run's judge of every answer: the verdict, the recorder, and the findings of the test running now."""

    def __init__(
        self, target: Target, recorder: Recorder, verdict: Verdict, progress: Any = None, drift: Drift | None = None
    ) -> None:
        self.target, self.recorder, self.verdict, self.progress = target, recorder, verdict, progress
        self.drift = drift
        self.pending: list[Finding] = []
        self.preflight = False
        self._allowed: set[str] = set()
        self._paths = {path: f"{method} {path}" for method, path in verdict.operations}
        # The account each credential names, and what the run has seen of it: one organization, one Stripe
        # customer (get or create), never another account's.
        self._accounts = {form.header: "account" for form in target.forms}
        if target.other is not None:
            self._accounts[target.other.header] = "other account"
        self._seen: dict[tuple[str, str], Any] = {}

    def operation(self, method: str, path: str) -> str:
        """The operation an exchange belongs to; a method the path does not document counts under the path's own."""
        if (method, path) in self.verdict.operations:
            return f"{method} {path}"
        return self._paths.get(path, f"{method} {path}")

    def _answer(self, request: requests.PreparedRequest, response: requests.Response | None = None) -> Answer:
        sent = request.headers.get("Authorization")
        credentials = self.target.credentials(sent if isinstance(sent, str) else None)
        if response is None:
            return Answer.unanswered(request, credentials, self.target.secrets())
        return Answer.of_requests(response, credentials, self.target.secrets())

    def answered(
        self, request: requests.PreparedRequest, response: requests.Response, *, transient: bool = False
    ) -> None:
        method = str(request.method)
        path = self.target.path(str(request.url))
        operation = self.operation(method, path)
        body, headers = _sent(request)
        self.recorder.sent(operation, response.status_code, request_digest(method, str(request.url), body, headers))
        if self.progress is not None:
            self.progress.tick(operation)
        judged: list[str] = []
        violations = self._judge(method, path, body, headers, response, judged.append)
        if self.drift is not None:
            headers_seen = [(name.lower(), str(value)) for name, value in response.raw.headers.items()]
            hidden = self.target.secrets()
            self.drift.observe(method, path, response.status_code, headers_seen, response.content, [], hidden=hidden)
        failed = {violation.check for violation in violations}
        self.recorder.ran(operation, *(check for check in judged if check not in failed))  # failed() counts the rest
        allowed = self._allowed | ({"not_a_server_error"} if transient else set())  # a 502 sent again: documented
        violations = [violation for violation in violations if violation.check not in allowed]
        account = self._accounts.get(headers.get("authorization", ""))
        # Not in the preflight: credentials given for one account that name two is a usage error it reports itself.
        if account is not None and not self.preflight and 200 <= response.status_code < 300:
            violations += self._across_the_run(account, operation, response)
        if not violations:
            return
        answer = self._answer(request, response)
        # Whether a probe header stays in the block is decided only for a block that would be shown.
        shown = [violation.check for violation in violations if self._shown(operation, violation, answer)]
        reproductions = without_probes(request, answer, shown, self._judge_again)
        for violation in violations:
            shown_answer = reproductions.get(violation.check, answer)
            details = shown_answer.describe(expectation(*violation))
            finding = Finding(operation, violation.check, violation.message, details, record(shown_answer, self.target))
            self.recorder.failed(finding)
            self.pending.append(finding)

    def _judge(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        response: requests.Response,
        judged: Callable[[str], None] | None,
    ) -> list[Violation]:
        return self.verdict.judge(
            method,
            path,
            headers,
            _parsed(body, media_type(headers.get("content-type"))[0]),
            response.status_code,
            list(response.raw.headers.items()),
            response.content,
            body_sent=bool(body),
            judged=judged,
        )

    def _shown(self, operation: str, violation: Violation, answer: Answer) -> bool:
        """Whether a block of this check for this answer would be the one shown (the first, or a shorter one)."""
        known = self.recorder.findings.get((operation, violation.check))
        shortest = answer.without_headers(probe_headers(answer)).describe(expectation(*violation))
        return known is None or len(shortest) < len(known.details)

    def _judge_again(self, request: requests.PreparedRequest) -> set[str] | None:
        """Send ``request`` once more, unrecorded: the checks its answer fails, or None when it got no answer."""
        session = self.target.session
        observer, session.observer = session.observer, None
        try:
            response = session.send(request)
        except Exception:  # no answer in time, throttled: the probe headers stay in the block
            return None
        finally:
            session.observer = observer
        body, headers = _sent(request)
        path = self.target.path(str(request.url))
        return {violation.check for violation in self._judge(str(request.method), path, body, headers, response, None)}

    def _across_the_run(self, account: str, operation: str, response: requests.Response) -> list[Violation]:
        """What one account's answers must share across the whole run, whichever test sent them and with which
        credential form: its organization, and once it has one its Stripe customer; never another account's."""
        data = _parsed(response.content, "application/json")
        if not isinstance(data, dict):
            return []
        found = []
        fields = [("organizationId", "same_organization")]
        if operation == "POST /billing":
            fields.append(("stripeCustomerId", "same_stripe_customer"))
        for field, check in fields:
            value = data.get(field)
            if not isinstance(value, str) or not value:
                continue
            first = self._seen.setdefault((account, field), value)
            if value != first:
                found.append(Violation(check, f"the {field} the {account} had earlier in the run, {first[:60]!r}"))
                continue
            others = [seen for (who, name), seen in self._seen.items() if name == field and who != account]
            if value in others:
                found.append(Violation("tenant_isolation", f"the {account}'s own {field}, not the other account's"))
                continue
            self.recorder.ran(operation, check)
        return found

    @contextlib.contextmanager
    def allowing(self, check: str) -> Iterator[None]:
        """Within: ``check`` does not hold answers the test provokes on purpose (the mock's own 502)."""
        self._allowed.add(check)
        try:
            yield
        finally:
            self._allowed.discard(check)

    def incomplete(self, request: requests.PreparedRequest, exc: IncompleteAnswer) -> BaseException:
        """The failure of a request that got no complete answer; the exception every later request raises."""
        method = str(request.method)
        operation = self.operation(method, self.target.path(str(request.url)))
        if self.preflight:
            return PreflightError(f"{operation}: {exc.why}")
        settings = self.target.settings
        expected = (
            f"a complete answer within {settings.timeout:g} s (--timeout) "
            f"and {settings.max_answer_bytes} bytes (--max-answer-bytes)"
        )
        answer = self._answer(request)
        finding = Finding(
            operation, COMPLETE_ANSWER, exc.why, answer.describe(expected, exc.why), record(answer, self.target)
        )
        self.recorder.failed(finding)
        return Failed([finding])

    def take(self) -> list[Finding]:
        """The findings since the last call (the test that just ran), one per operation and check."""
        found, self.pending = self.pending, []
        unique: dict[tuple[str, str], Finding] = {}
        for finding in found:
            unique.setdefault((finding.operation, finding.check), finding)
        return list(unique.values())


def judging(target: Target, recorder: Recorder, progress: Any = None, *, drift: bool = False) -> Oracle:
    """The oracle of a run against ``target``: the document (``--spec``) read, its statuses given to ``recorder``,
    and every answer of the target's session judged from now on; with ``drift``, what a deployment's answers carry
    that the document does not name is kept too (never for the mock: it is the document, what else it says is its
    own). Raises :class:`document.DocumentError`."""
    settings = target.settings
    raw = document.load(settings.spec, timeout=settings.timeout)
    active = document.active(document.Document(raw, mock=target.is_mock))
    recorder.documented = active.statuses()
    verdict = Verdict(active.raw, mock=target.is_mock, server_errors=True, tracking_ids=recorder.tracking_ids)
    kept = Drift(raw) if drift and not target.is_mock else None
    oracle = Oracle(target, recorder, verdict, progress, kept)
    target.session.observer = oracle
    return oracle
