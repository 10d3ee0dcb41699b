"""The pytest side of the suite: options, the target, the preflight, the reports.

``contract_tests/conftest.py`` loads these hooks, so ``pytest contract_tests``
and the ``contract-tests`` script (which runs pytest) behave the same.
"""

from __future__ import annotations

import functools
import sys
import time
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.configuration
import pytest
from schemathesis.generation import derive_operation_seed

from . import document, output
from .options import DEFAULT_APP, OPTIONS, RunSettings, UsageError, hypothesis_home, redact_url, resolve
from .oracle import Oracle, judging
from .replay import one_answer_decides
from .report import Finding, Recorder, Violation
from .target import PreflightError, Target, load_app, preflight

__all__ = [
    "APP_KEY",
    "SETTINGS_KEY",
    "pytest_addoption",
    "pytest_cmdline_main",
    "pytest_configure",
    "pytest_collection",
    "pytest_collection_modifyitems",
    "pytest_exception_interact",
    "pytest_report_header",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtestloop",
    "pytest_sessionstart",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_testnodedown",
    "accounts",
    "contract_settings",
    "oracle",
    "recorder",
    "target",
]

APP_KEY = pytest.StashKey[Any]()  # an ASGI app to test in-process instead of the mock
SETTINGS_KEY = pytest.StashKey[RunSettings]()
TARGET_KEY = pytest.StashKey[Target]()
RECORDER_KEY = pytest.StashKey[Recorder]()
ORACLE_KEY = pytest.StashKey[Oracle]()
ACCOUNTS_KEY = pytest.StashKey[dict[str, str]]()
RAN_KEY = pytest.StashKey[list[str]]()
EXPORTED_KEY = pytest.StashKey[tuple[list[Path], list[Finding]]]()  # --export-failures: files, failures left
PREFLIGHT_KEY = pytest.StashKey[str]()  # the preflight failed on answers that break the contract
STOP_KEY = pytest.StashKey[str]()  # the run cannot start (app, document, preflight): the one line that says why
# Tests that need no luck run first, each answer of theirs judged: a fault they show is caught under any seed.
ORDER = ("test_probes.py", "test_rules.py", "test_mock_only.py", "test_properties.py", "test_operations.py")
WRITE_OPERATION = "POST /billing"
PROGRESS_SECONDS = 5.0
# Deprecations Connexion's imports raise (Starlette's test client, jsonschema's RefResolver) when the in-process
# app loads: the concern of neither the suite nor its user. By category and the module they are raised in.
THIRD_PARTY_WARNINGS = ((UserWarning, r"connexion\.apps\.abstract"), (DeprecationWarning, r"connexion\.json_schema"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "contract tests (also as CONTRACT_* environment variables)")
    for option in OPTIONS:
        if option.name == "junit-xml":
            continue  # pytest's own --junit-xml; the suite writes the file itself (see pytest_configure)
        if option.kind == "flag":
            group.addoption(f"--{option.name}", action="store_true", default=False, dest=option.dest, help=option.help)
        else:
            group.addoption(f"--{option.name}", default=None, dest=option.dest, help=f"{option.help} [{option.env}]")


def _flags(config: pytest.Config) -> dict[str, Any]:
    flags = {option.dest: getattr(config.option, option.dest, None) for option in OPTIONS}
    flags["contract_junit_xml"] = config.option.xmlpath
    return flags


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    try:
        settings = resolve(_flags(config))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    is_worker = hasattr(config, "workerinput")  # an xdist worker: never start workers of its own
    if settings.workers > 1 and not is_worker and not getattr(config.option, "numprocesses", None):
        config.option.numprocesses = settings.workers
        config.option.dist = "load"
    # One seed for every Hypothesis test in the run, printed in the header.
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = settings.seed


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Schemathesis keeps per-run state on the schema object; a second run in this process
    # (contract_tests.cli.main called twice) gets a fresh one.
    sys.modules.pop(f"{__package__}.test_operations", None)
    config.addinivalue_line("markers", "mock_only: assumes the mock's own error codes or demo data")
    config.addinivalue_line("markers", "writes: sends POST /billing")
    home = hypothesis_home()
    if home is not None:  # the folder the run started in stays as it was: no .hypothesis/ left in it
        hypothesis.configuration.set_hypothesis_home_dir(home)
        config.add_cleanup(lambda: hypothesis.configuration.set_hypothesis_home_dir(None))
    # After Hypothesis's own plugin: the profile sets the examples per operation for every test.
    settings = config.stash[SETTINGS_KEY]
    name = f"contract-{settings.profile}"
    hypothesis.settings.register_profile(name, settings.hypothesis_settings(settings.max_examples))
    hypothesis.settings.load_profile(name)
    # The suite's JUnit file names the operation and the check; pytest's would name the test function.
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is not None:
        config.pluginmanager.unregister(xml)
        del config.stash[xml_key]


def pytest_report_header(config: pytest.Config) -> str:
    header = config.stash[SETTINGS_KEY].describe()
    if config.stash.get(APP_KEY, None) is not None:
        header = header.replace("the mock, in-process", "an app in-process")
    spec = config.stash[SETTINGS_KEY].spec
    return f"{header}; document {redact_url(spec) if spec else document.DEFAULT_SPEC.name}"


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    settings = config.stash[SETTINGS_KEY]
    config.stash[RAN_KEY] = []
    app = config.stash.get(APP_KEY, None)
    mock = False
    if app is None and settings.in_process:
        spec = settings.app or DEFAULT_APP
        try:
            with warnings.catch_warnings():
                for category, module in THIRD_PARTY_WARNINGS:
                    warnings.filterwarnings("ignore", category=category, module=module)
                app = load_app(spec)
        except PreflightError as exc:
            _stop(session, str(exc))
            return
        mock = spec == DEFAULT_APP
    workerinput = getattr(config, "workerinput", None)
    target = Target(settings, app, mock=mock, share=workerinput["workercount"] if workerinput else 1)
    config.stash[TARGET_KEY] = target
    recorder = config.stash[RECORDER_KEY] = Recorder()
    try:
        oracle = config.stash[ORACLE_KEY] = judging(target, recorder, Progress(config, recorder), drift=True)
    except document.DocumentError as exc:
        target.close()
        _stop(session, str(exc))
        return
    oracle.preflight = True
    try:
        config.stash[ACCOUNTS_KEY] = preflight(target)
    except PreflightError as exc:
        if recorder.findings:  # the answers it got already break the contract: that is the verdict, no test runs
            config.stash[PREFLIGHT_KEY] = f"preflight failed: {exc}"
            return
        target.close()
        _stop(session, f"preflight failed: {exc}")
    finally:
        oracle.preflight = False


def _stop(session: pytest.Session, why: str) -> None:
    """The run cannot start: nothing is collected or run, the summary says why in one line, exit code 2.

    Not ``pytest.exit``, which prints its message twice, once in a frame of its exception's name.
    """
    session.config.stash[STOP_KEY] = f"contract-tests: {why}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> bool | None:
    return True if STOP_KEY in session.config.stash else None  # True: nothing to collect


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    return True if STOP_KEY in session.config.stash else None  # True: nothing to run, nor workers to wait for


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS_KEY]
    target = config.stash.get(TARGET_KEY, None)
    writes_off = pytest.mark.skip(reason="POST /billing is not sent to a non-loopback target without --allow-writes")
    not_mock = pytest.mark.skip(reason="assumes the mock's own codes or demo data; the target is not the mock")
    if PREFLIGHT_KEY in config.stash:
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
        return
    items.sort(key=lambda item: ORDER.index(item.path.name) if item.path.name in ORDER else len(ORDER))
    for item in items:
        # Schemathesis seeds each operation's test with a random seed of its own unless told otherwise.
        test = getattr(item, "obj", None)
        if test is not None and hasattr(test, "_hypothesis_internal_use_seed"):
            hypothesis.seed(derive_operation_seed(settings.seed, item.name))(test)
        if not settings.writes and (WRITE_OPERATION in item.name or item.get_closest_marker("writes")):
            item.add_marker(writes_off)
        if item.get_closest_marker("mock_only") and not (target is not None and target.is_mock):
            item.add_marker(not_mock)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A test asserts its own property; what the oracle found in its answers meanwhile fails it too."""
    oracle = item.config.stash.get(ORACLE_KEY, None)
    if oracle is not None:
        oracle.take()  # what came before the test (the preflight, another test's teardown) is recorded already
    yield
    found = oracle.take() if oracle is not None else []
    if found:
        raise Violation(found)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    output.shorten(item, call, report)  # here for pytest-xdist, which sends the report on before exception_interact
    if report.when == "call" or (report.when == "setup" and not report.passed):
        item.config.stash.setdefault(RAN_KEY, []).append(item.name)
    target = item.config.stash.get(TARGET_KEY, None)
    if target is not None:
        session = target.session
        if session.throttle.gave_up:
            item.session.shouldstop = f"the target throttled the run: {session.throttle.gave_up}"
        elif session.budget.spent:
            item.session.shouldstop = session.budget.spent
        elif session.broken is not None:  # a verdict (exit 1): the run stops as -x stops it
            item.session.shouldfail = "a request got no complete answer"
    return report


@pytest.hookimpl(trylast=True)
def pytest_exception_interact(node: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Again after Schemathesis's own hook, which writes its failure report into the test's."""
    output.shorten(node, call, report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    recorder = config.stash.get(RECORDER_KEY, None)
    settings = config.stash.get(SETTINGS_KEY, None)
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        target.close()
    if STOP_KEY in config.stash:
        session.exitstatus = pytest.ExitCode.INTERRUPTED  # exit code 2: no verdict
        return
    if recorder is None or settings is None:
        return
    if target is not None:
        recorder.throttled({**target.session.throttle.to_dict(), "provider_retries": target.session.provider_retries})
    oracle = config.stash.get(ORACLE_KEY, None)
    if oracle is not None and oracle.drift is not None:
        recorder.observed(oracle.drift.report())
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["contract"] = recorder.to_dict()
        return
    if target is not None and target.session.budget.spent:
        ran = config.stash.get(RAN_KEY, [])
        total = session.testscollected
        listed = ", ".join(ran[:8]) + (", ..." if len(ran) > 8 else "")
        recorder.stopped = f"{target.session.budget.spent}; ran {len(ran)} of {total} tests ({listed or 'none'})"
    if settings.require_coverage and PREFLIGHT_KEY not in config.stash:
        recorder.require_coverage(settings.coverage_exempt)
    failed = recorder.findings or recorder.uncovered
    if failed and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # found outside any test: the preflight, the coverage gate
    if recorder.throttling["gave_up"] or recorder.stopped:
        session.exitstatus = pytest.ExitCode.INTERRUPTED  # no verdict: exit code 2, never 1
    oracle = config.stash.get(ORACLE_KEY, None)
    if settings.export_failures and recorder.findings and oracle is not None:
        from .export import export_failures  # only when asked: a run without it imports nothing more

        replayable = functools.partial(one_answer_decides, verdict=oracle.verdict)
        config.stash[EXPORTED_KEY] = export_failures(
            recorder, settings.export_failures, seed=settings.seed, base_url=settings.base_url, replayable=replayable
        )
    if settings.junit_xml:
        output.write_junit(recorder, settings.junit_xml, seed=settings.seed)
    if settings.report:
        output.write_json(recorder, settings.report, seed=settings.seed, target=settings.base_url or "in-process")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    data = getattr(node, "workeroutput", {}).get("contract")
    if data:
        node.config.stash[RECORDER_KEY].merge(data)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if STOP_KEY in config.stash:
        terminalreporter.write_line(config.stash[STOP_KEY])
        return
    recorder = config.stash.get(RECORDER_KEY, None)
    settings = config.stash.get(SETTINGS_KEY, None)
    if recorder is None or settings is None or not recorder.operations:
        return
    if PREFLIGHT_KEY in config.stash:
        terminalreporter.write_line(f"contract-tests: {config.stash[PREFLIGHT_KEY]}; nothing else was tested")
    if recorder.findings:
        terminalreporter.section("contract violations")
        replay = f"--seed {settings.seed} with the same options replays it"
        if settings.report:
            where = "" if settings.in_process else f" --base-url {redact_url(str(settings.base_url))}"
            replay += f"; contract-tests replay {settings.report}{where} sends the failing requests alone"
        for line in output.failure_lines(recorder, replay):
            terminalreporter.write_line(line)
    exported = config.stash.get(EXPORTED_KEY, None)
    if exported is not None:
        for line in output.exported_lines(*exported):
            terminalreporter.write_line(line)
    terminalreporter.section("contract coverage")
    for line in output.coverage_lines(recorder):
        terminalreporter.write_line(line)
    if recorder.undocumented:
        terminalreporter.section("undocumented (warnings, not failures)")
        for line in output.undocumented_lines(recorder):
            terminalreporter.write_line(line)
    if recorder.uncovered:
        terminalreporter.section("contract coverage gate")
        for line in output.gate_lines(recorder):
            terminalreporter.write_line(line)
    terminalreporter.section("contract summary")
    for line in output.summary_lines(recorder):
        terminalreporter.write_line(line)
    throttling = recorder.throttling
    if throttling["answers"]:
        final = f"{throttling['final_rps']} requests per second" if throttling["final_rps"] else "no limit"
        terminalreporter.write_line(
            f"the target throttled {throttling['answers']} answer(s) (429/503 with Retry-After); the suite waited "
            f"{throttling['waited_seconds']:g} s, lowered its rate to {throttling['lowest_rps']} requests per second "
            f"at the lowest, and ended at {final}"
        )
    if throttling["provider_retries"]:
        terminalreporter.write_line(
            f"the target answered 502 (the payment provider failed, documented) {throttling['provider_retries']} "
            "time(s); each of those requests was sent once more and the second answer judged"
        )
    if throttling["provider_retries"]:
        terminalreporter.write_line(
            f"the target answered 502 (the payment provider failed, documented) {throttling['provider_retries']} "
            "time(s); each of those requests was sent once more and the second answer judged"
        )
    failed = recorder.findings or recorder.uncovered or exitstatus == pytest.ExitCode.TESTS_FAILED
    verdict = "violations found" if failed else "the target honours the contract"
    if throttling["gave_up"]:
        verdict = f"no verdict: stopped because the target kept throttling: {throttling['gave_up']}"
    elif recorder.stopped:
        verdict = f"no verdict: {recorder.stopped}"
    terminalreporter.write_line(f"{verdict} (seed {settings.seed}; rerun with --seed {settings.seed})")


class Progress:
    """A line every few seconds while an operation is being tested, so long runs do not look hung."""

    def __init__(self, config: pytest.Config, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder
        self.last = time.monotonic()

    def tick(self, operation: str) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        entry = self.recorder.operations[operation]
        statuses = " ".join(f"{code}x{count}" for code, count in sorted(entry.statuses.items()))
        capture = self.config.pluginmanager.getplugin("capturemanager")
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if capture is None or reporter is None:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"  ... {operation}: {entry.cases} requests so far ({statuses})")


@pytest.fixture(scope="session")
def contract_settings(pytestconfig: pytest.Config) -> RunSettings:
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return pytestconfig.stash[TARGET_KEY]


@pytest.fixture(scope="session")
def recorder(pytestconfig: pytest.Config) -> Recorder:
    return pytestconfig.stash[RECORDER_KEY]


@pytest.fixture(scope="session")
def progress(pytestconfig: pytest.Config) -> Progress:
    return pytestconfig.stash[ORACLE_KEY].progress  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def oracle(pytestconfig: pytest.Config) -> Oracle:
    return pytestconfig.stash[ORACLE_KEY]


@pytest.fixture(scope="session")
def accounts(pytestconfig: pytest.Config) -> dict[str, str]:
    """The organizationId the preflight saw for each credential given (``--api-key``, ``--basic``...)."""
    return pytestconfig.stash[ACCOUNTS_KEY]
