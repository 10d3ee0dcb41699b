"""``contract-tests replay REPORT.json``: the failing requests of a JSON report, sent again and judged again.

Each failure of a report written by ``--report`` carries its request (:mod:`contract_tests.sent`).
Replay sends exactly that request to ``--base-url`` (or ``CONTRACT_BASE_URL``; the mock in-process
for a report of an in-process run: a URL read from the report is never sent credentials by itself),
through the run's bounded transport, and the run's oracle judges the answer
(:func:`contract_tests.oracle.judging`): the check that failed says ``still failing`` or ``fixed``;
an answer that passes it but fails another check says ``now failing``.
The suite's status properties (a 401 to a refused key, a 4xx to a request the document
does not allow...) are judged on the status; a property across several requests (one organization
all run long, tenant isolation) cannot be replayed alone and says so.

Exit codes: 0 every failure fixed, 1 any still failing, now failing or not replayed, 2 a bad report,
usage or connection error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

from billing_contract.commands import CommandParser
from billing_contract.excerpt import excerpt
from billing_contract.verdict import Verdict

from .document import DocumentError
from .expect import NOT_JUDGED
from .options import DEFAULT_APP, RunSettings, UsageError, redact_url, resolve, resolve_defaults
from .oracle import COMPLETE_ANSWER, judging
from .report import Recorder
from .report import Violation as Failed
from .sent import ReportError, Sent, authorization, read
from .target import PreflightError, Target, load_app
from .throttle import OutOfTime, Throttled

__all__ = ["MAX_REPORT_BYTES", "STATUS_RULES", "Replayer", "main", "one_answer_decides", "read_report", "replay_one"]

OK, FAILING, ERROR = 0, 1, 2
MAX_REPORT_BYTES = 16 * 1024 * 1024
# The suite's own properties of one answer that its status (and body) decide, and the status they want.
STATUS_RULES: dict[str, tuple[Callable[[int, Any], bool], str]] = {
    "status_200": (lambda status, body: status in (200, NOT_JUDGED), "200"),
    "json_object": (lambda status, body: status == NOT_JUDGED or isinstance(body, dict), "a JSON object"),
    "credentials_refused_with_401": (lambda status, body: status == 401, "401"),
    "invalid_request_rejected": (lambda status, body: status in (400, 415), "400 or 415"),
    "other_tier_price_refused": (lambda status, body: status == 400, "400"),
    "negative_data_rejection": (lambda status, body: 400 <= status < 500, "a 4xx"),
    "missing_required_header": (lambda status, body: 400 <= status < 500, "a 4xx"),
    "unsupported_method": (lambda status, body: status == 405, "405"),
}
# A check that needs the same request twice to fail: a trackingId used again.
REPEATED = {"tracking_id_unique": 2}


def _parser() -> CommandParser:
    parser = CommandParser(
        prog="contract-tests replay",
        description="Send the failing requests of a JSON report (contract-tests --report) again and judge each "
        "answer with the same checks: still failing, or fixed. Credentials are not in the report: give them "
        "again (or as CONTRACT_* variables).",
        epilog="Exit codes: 0 every failure fixed, 1 any still failing, now failing or not replayed, "
        "2 a bad report, usage or connection error.",
    )
    parser.add_argument("report", metavar="REPORT.json", help="a JSON report written by contract-tests --report")
    parser.add_argument("--base-url", metavar="URL", help="where to send them (default: the report's target)")
    parser.add_argument("--api-key", metavar="KEY", help="bearer API key of the account [CONTRACT_API_KEY]")
    parser.add_argument("--basic", metavar="CLIENT:SECRET", help="HTTP basic credentials [CONTRACT_BASIC]")
    parser.add_argument("--other-api-key", metavar="KEY", help="a second account's key [CONTRACT_OTHER_API_KEY]")
    parser.add_argument("--timeout", metavar="SECONDS", help="seconds for each answer [CONTRACT_TIMEOUT]")
    return parser


def read_report(path: Path) -> dict[str, Any]:
    """A JSON report, bounded in size, with each failure's request checked; :class:`ReportError` says why not."""
    if not path.is_file():
        raise ReportError(f"{path}: not a file")
    with path.open("rb") as file:
        raw = file.read(MAX_REPORT_BYTES + 1)
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportError(f"{path}: over {MAX_REPORT_BYTES} bytes, not a report of contract-tests")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise ReportError(f"{path}: not JSON") from None
    failures = data.get("failures") if isinstance(data, dict) else None
    if not isinstance(failures, list):
        raise ReportError(f"{path}: not a report of contract-tests --report (no list of failures)")
    for number, failure in enumerate(failures, 1):
        if not isinstance(failure, dict) or not all(isinstance(failure.get(k), str) for k in ("operation", "check")):
            raise ReportError(f"{path}: failure {number} names no operation and check")
        try:
            failure["sent"] = read(failure.get("request"))
        except ReportError as exc:
            raise ReportError(
                f"{path}: failure {number} ({failure['operation']} :: {failure['check']}): {exc}"
            ) from None
    return dict(data)


def _settings(args: Any, report: dict[str, Any]) -> Any:
    flags = {
        "contract_base_url": args.base_url,
        "contract_api_key": args.api_key,
        "contract_basic": args.basic,
        "contract_other_api_key": args.other_api_key,
        "contract_timeout": args.timeout,
    }
    settings = resolve(flags)
    target = report.get("target")
    if settings.in_process and isinstance(target, str) and target.startswith("http"):
        # A URL read from a file is not sent the user's credentials unasked.
        raise UsageError(
            f"the report was made against {excerpt(redact_url(target), 200)}: say where to send its requests "
            "with --base-url URL"
        )
    return settings


def one_answer_decides(check: str, verdict: Verdict) -> bool:
    """Whether one answer decides ``check``: a check of the oracle's, or one of the suite's status rules."""
    return check in STATUS_RULES or check in (*verdict.names, COMPLETE_ANSWER)


class Replayer:
    """Recorded requests sent to the target of ``settings`` (the mock in-process without a base URL), each answer
    judged by the run's oracle. Raises :class:`PreflightError` for an app that cannot be loaded."""

    def __init__(self, settings: RunSettings) -> None:
        app, mock = None, False
        if settings.in_process:
            app, mock = load_app(settings.app or DEFAULT_APP), settings.app in (None, DEFAULT_APP)
        self.target = Target(settings, app, mock=mock)
        try:
            self.oracle = judging(self.target, Recorder())
        except BaseException:
            self.target.close()
            raise

    def close(self) -> None:
        self.target.close()

    def _send(self, sent: Sent) -> tuple[requests.Response | None, dict[str, str]]:
        """The answer to ``sent`` (None: no complete answer) and each check that failed on it, with its message."""
        target = self.target
        headers = dict(sent.headers)
        auth = authorization(sent, target)
        if auth is not None:
            headers["Authorization"] = auth
        target.session.broken = None  # one request that got no answer does not stop the others
        try:
            response = target.session.request(sent.method, target.base_url + sent.path, headers=headers, data=sent.body)
        except Failed as exc:
            return None, {finding.check: finding.title for finding in exc.findings}
        return response, {finding.check: finding.title for finding in self.oracle.take()}

    def replay(self, check: str, sent: Sent) -> tuple[str, str]:
        """``still failing``, ``now failing`` (passes, another check fails), ``fixed`` or ``not replayed``, and
        what to say of it."""
        if not one_answer_decides(check, self.oracle.verdict):
            return "not replayed", "a property across several requests; the whole run replays it"
        rule = STATUS_RULES.get(check)
        response: requests.Response | None = None
        failed: dict[str, str] = {}
        for _ in range(REPEATED.get(check, 1)):
            response, failed = self._send(sent)
        if rule is not None and check not in failed and response is not None:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not rule[0](response.status_code, body):
                failed[check] = f"expected {rule[1]}, got {response.status_code}"
        if check in failed:
            return "still failing", failed[check]
        if failed:
            return "now failing", f"passes {check}, but the answer fails {', '.join(sorted(failed))}"
        return "fixed", ""


def replay_one(check: str, request: dict[str, Any], *, base_url: str | None = None) -> tuple[str, str]:
    """One recorded request sent again, as an exported regression test does: to ``CONTRACT_BASE_URL``, else
    ``base_url``, else the mock in-process, with the ``CONTRACT_*`` credentials."""
    replayer = Replayer(resolve_defaults({"CONTRACT_BASE_URL": base_url} if base_url else {}))
    try:
        return replayer.replay(check, read(request))
    finally:
        replayer.close()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[2:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return OK if exc.code == 0 else ERROR
    try:
        report = read_report(Path(args.report))
        if not report["failures"]:
            print(f"contract-tests replay: nothing to replay: {args.report} records no failure")
            return OK
        settings = _settings(args, report)
    except (ReportError, UsageError) as exc:
        print(f"contract-tests replay: {exc}", file=sys.stderr)
        return ERROR
    failures = report["failures"]
    where = redact_url(settings.base_url) if settings.base_url else "the mock, in-process"
    try:
        replayer = Replayer(settings)
    except (PreflightError, DocumentError, OSError, RuntimeError) as exc:
        print(f"contract-tests replay: {str(exc)[:300]}", file=sys.stderr)
        return ERROR
    print(f"contract-tests replay: {len(failures)} failure(s) of {args.report} against {where}")
    outcomes: list[str] = []
    try:
        for failure in failures:
            outcome, said = replayer.replay(failure["check"], failure["sent"])
            if outcome == "not replayed":
                said += f" (--seed {report.get('seed')})"
            outcomes.append(outcome)
            print(f"{outcome:<14} {failure['operation']} :: {failure['check']}" + (f": {said}" if said else ""))
    except requests.RequestException as exc:
        print(f"contract-tests replay: cannot reach {where}: {str(exc)[:200]}", file=sys.stderr)
        return ERROR
    except (ReportError, Throttled, OutOfTime) as exc:
        print(f"contract-tests replay: {str(exc)[:300]}", file=sys.stderr)
        return ERROR
    finally:
        replayer.close()
    fixed = outcomes.count("fixed")
    print(f"{len(outcomes) - fixed} of {len(outcomes)} not fixed" if fixed < len(outcomes) else "all fixed")
    return OK if fixed == len(outcomes) else FAILING
