"""``contract-tests``: run the contract suite against the mock in-process or any deployment.

It runs ``pytest contract_tests`` with the same options, and turns the outcome
into three exit codes: 0 the target honours the contract, 1 violations found,
2 usage, configuration or connection error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from billing_contract import __version__
from billing_contract.commands import CommandParser

from . import compat_cli, replay
from .options import OPTIONS, UsageError, resolve
from .plugin import APP_KEY, RECORDER_KEY

__all__ = ["main", "OK", "VIOLATIONS", "ERROR"]

OK, VIOLATIONS, ERROR = 0, 1, 2
SUITE = Path(__file__).resolve().parent
_CONNECTION_ERRORS = ("requests.exceptions.", "ConnectionError", "Unreachable", "Timeout", "Throttled", "OutOfTime")


def _parser() -> argparse.ArgumentParser:
    # The placeholder of each option's value in --help, by option name.
    metavars = {
        "base-url": "URL",
        "api-key": "KEY",
        "basic": "CLIENT:SECRET",
        "other-api-key": "KEY",
        "message-price-id": "PRICE",
        "budget-price-id": "PRICE",
        "spec": "PATH|URL",
        "seed": "N",
        "max-rps": "N",
        "timeout": "SECONDS",
        "max-answer-bytes": "BYTES",
        "max-time": "SECONDS",
        "app": "MODULE:NAME",
        "workers": "N",
        "junit-xml": "PATH",
        "report": "PATH",
        "coverage-exempt": "STATUS,...",
        "export-failures": "DIR",
    }
    parser = CommandParser(
        prog="contract-tests",
        description="Check that a deployment of the organization & billing API honours openapi.yaml. "
        "Without --base-url the mock is tested in-process. Every option can also be set as the "
        "CONTRACT_* environment variable named in its help.",
        epilog="Exit codes: 0 the target honours the contract, 1 violations found, "
        "2 usage, configuration or connection error. Arguments after -- go to pytest. "
        "Also: contract-tests replay REPORT.json (send a report's failing requests again), "
        "contract-tests compat OLD NEW (what a change to the document breaks); each with --help.",
    )
    for option in OPTIONS:
        if option.kind == "flag":
            parser.add_argument(f"--{option.name}", action="store_true", dest=option.dest, help=option.help)
        else:
            metavar = "|".join(option.choices) if option.choices else metavars.get(option.name, "VALUE")
            help_text = f"{option.help} [{option.env}]"
            parser.add_argument(f"--{option.name}", dest=option.dest, metavar=metavar, help=help_text)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


class _Outcome:
    """Sees the session from inside pytest: the app to test, and whether violations were found.

    A test that fails on an answer is a violation; one that fails because the target could not
    be reached, or that errors in setup, is not.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.violations = 0
        self.gave_up: str | None = None
        self.stopped: str | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        if self.app is not None:
            config.stash[APP_KEY] = self.app

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A report, not the exception: with --workers the tests run in other processes.
        if report.when != "call" or not report.failed:
            return
        crash = getattr(report.longrepr, "reprcrash", None)
        if not any(name in getattr(crash, "message", "") for name in _CONNECTION_ERRORS):
            self.violations += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        recorder = session.config.stash.get(RECORDER_KEY, None)
        if recorder is not None:
            self.violations += len(recorder.findings) + len(recorder.uncovered)
            self.gave_up = recorder.throttling["gave_up"]
            self.stopped = recorder.stopped


def main(argv: Sequence[str] | None = None, *, app: Any = None) -> int:
    """Run the suite; ``app`` replaces the mock as the in-process target (used by the project's tests)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compat"]:
        return compat_cli.main(argv[1:])
    if argv[:1] == ["replay"]:
        return replay.main(argv[1:])
    extra: list[str] = []
    if "--" in argv:
        index = argv.index("--")
        argv, extra = argv[:index], argv[index + 1 :]
    parser = _parser()
    try:
        namespace = parser.parse_args(argv)
    except SystemExit as exc:
        return OK if exc.code == 0 else ERROR
    try:
        settings = resolve(vars(namespace))
    except UsageError as exc:
        print(f"contract-tests: {exc}", file=sys.stderr)
        return ERROR
    if app is not None and settings.workers > 1:
        print("contract-tests: --workers needs --base-url or the default in-process mock", file=sys.stderr)
        return ERROR
    outcome = _Outcome(app)
    # This process imported Hypothesis already, so pytest cannot rewrite its asserts: say nothing of it.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    # A worker is a fresh process: pytest would rewrite the asserts of every module of its plugins (Schemathesis,
    # Hypothesis...) again, compiling each one without a bytecode cache, which cost more than the worker saved.
    plain = ["--assert=plain"] if settings.workers > 1 else []
    args = [str(SUITE), "-p", "no:cacheprovider", "--tb=short", *quiet, *plain, *argv, *extra]
    status = pytest.main(args, plugins=[outcome])
    if outcome.gave_up:
        print(f"contract-tests: no verdict: the target kept throttling: {outcome.gave_up}", file=sys.stderr)
        return ERROR
    if outcome.stopped:
        print(f"contract-tests: no verdict: {outcome.stopped}", file=sys.stderr)
        return ERROR
    if status == pytest.ExitCode.OK:
        return OK
    if status == pytest.ExitCode.TESTS_FAILED and outcome.violations:
        return VIOLATIONS
    return ERROR


if __name__ == "__main__":
    raise SystemExit(main())
