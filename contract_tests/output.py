"""A run's outcome as people and CI read it: failed tests in a line, the terminal summary, JUnit XML, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from _pytest._code.code import TerminalRepr
from _pytest._io import TerminalWriter
from schemathesis.core.failures import FailureGroup

from billing_contract.drift_report import fact_text

from .checks import check_name
from .report import Finding, Recorder, Violation

__all__ = [
    "coverage_lines",
    "exported_lines",
    "failure_lines",
    "gate_lines",
    "shorten",
    "summary_lines",
    "undocumented_lines",
    "write_json",
    "write_junit",
]
GATE = "documented_statuses_answered"
"""The coverage gate's check, as the terminal, the JUnit file and the JSON report name it."""


def _statuses(recorder: Recorder, name: str) -> tuple[str, str]:
    """``200 x66  400 -  ...`` for the documented statuses, and the undocumented ones seen."""
    coverage = recorder.coverage(name)
    documented = "  ".join(f"{status} {'x' + str(count) if count else '-'}" for status, count in coverage.items())
    entry = recorder.operations[name]
    other = ", ".join(f"{code} x{count}" for code, count in sorted(entry.statuses.items()) if str(code) not in coverage)
    return documented or "-", other or "-"


def failure_lines(recorder: Recorder, replay: str) -> list[str]:
    lines: list[str] = []
    for finding in recorder.findings.values():
        lines += [*finding.block(replay), ""]
    return lines


def summary_lines(recorder: Recorder) -> list[str]:
    lines = [f"{'operation':<28} {'cases':>6} {'failures':>9}  statuses"]
    for name, entry in sorted(recorder.operations.items()):
        failures = sum(1 for finding in recorder.findings.values() if finding.operation == name)
        statuses = ", ".join(f"{code} x{count}" for code, count in sorted(entry.statuses.items())) or "-"
        lines.append(f"{name:<28} {entry.cases:>6} {failures:>9}  {statuses}")
    lines += [f"failed: {finding.operation} :: {finding.check}" for finding in recorder.findings.values()]
    return lines


def coverage_lines(recorder: Recorder) -> list[str]:
    """Per operation, each documented status seen (x count) or not (-); per check, answers judged."""
    lines = [f"{'operation':<28} documented statuses (x answers, - not seen){'':<4} other statuses"]
    for name in sorted(recorder.operations):
        documented, other = _statuses(recorder, name)
        lines.append(f"{name:<28} {documented:<48} {other}")
    lines += ["", f"{'check':<36} {'answers judged':>14}"]
    failed = {finding.check for finding in recorder.findings.values()}
    for check, count in recorder.judged().items():
        lines.append(f"{check:<36} {count:>14}{'  FAILED' if check in failed else ''}")
    for check, why in recorder.not_run_now().items():
        lines.append(f"{check:<36} {'not run':>14}  ({why})")
    return lines


def undocumented_lines(recorder: Recorder) -> list[str]:
    """What the target's answers carried that the document does not name: one line each, and what to do."""
    lines = [f"{fact['operation']}: {fact_text(fact)} x{fact['count']}" for fact in recorder.to_dict()["undocumented"]]
    return [
        *lines,
        "The document does not name these; the contract allows them. To add them to it: "
        "mock-server drift-patch REPORT.json (the --report file) prints the change.",
    ]


def _gate(name: str, missing: list[str]) -> str:
    return f"{name} never answered {', '.join(missing)}, which the document gives it"


def gate_lines(recorder: Recorder, only: str | None = None) -> list[str]:
    """One block per operation (or ``only`` this one) a documented status of which was never answered."""
    exempt = ", ".join(recorder.gate or ()) or "none"
    every = sorted({*(recorder.gate or ()), *(status for missing in recorder.uncovered.values() for status in missing)})
    lines: list[str] = []
    for name, missing in recorder.uncovered.items():
        if only not in (None, name):
            continue
        lines += [
            f"FAILED {name} :: {GATE}",
            "  expected: every documented status answered at least once (--require-coverage)",
            f"  got:      {_gate(name, missing)} (exempt: {exempt})",
            f"  fix:      make the run reach them, or exempt those the target cannot show: "
            f"--coverage-exempt {','.join(every)}",
            "",
        ]
    return lines


def exported_lines(written: list[Path], left: list[Finding]) -> list[str]:
    """What --export-failures wrote, and the failures one request cannot show."""
    lines = []
    if written:
        names = ", ".join(path.name for path in written)
        lines.append(f"exported {len(written)} failure(s) as regression tests to {written[0].parent}: {names}")
    if left:
        names = ", ".join(f"{finding.operation} :: {finding.check}" for finding in left)
        lines.append(f"not exported (a property across several requests; the run's seed replays it): {names}")
    return lines


def write_junit(recorder: Recorder, path: Path, *, seed: int) -> None:
    suite = ET.Element("testsuite", name="contract-tests")
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="seed", value=str(seed))
    for fact in recorder.to_dict()["undocumented"]:
        said = f"{fact_text(fact)} x{fact['count']}"
        ET.SubElement(properties, "property", name=f"undocumented {fact['operation']}", value=said)
    tests = failures = skipped = 0
    for name, entry in sorted(recorder.operations.items()):
        documented, other = _statuses(recorder, name)
        ET.SubElement(properties, "property", name=f"coverage {name}", value=f"{documented}; other: {other}")
        for check, count in sorted(entry.checks.items()):
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=name, name=f"{name} :: {check}")
            ET.SubElement(case, "system-out").text = f"{count} answers judged"
            finding = recorder.findings.get((name, check))
            if finding is not None:
                failures += 1
                ET.SubElement(case, "failure", message=finding.title).text = finding.details
    for name in sorted(recorder.documented) if recorder.gate is not None else []:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname=name, name=f"{name} :: {GATE}")
        if name in recorder.uncovered:
            failures += 1
            message = _gate(name, recorder.uncovered[name])
            ET.SubElement(case, "failure", message=message).text = "\n".join(gate_lines(recorder, name))
    for check, why in recorder.not_run_now().items():
        tests += 1
        skipped += 1
        case = ET.SubElement(suite, "testcase", classname="not run", name=check)
        ET.SubElement(case, "skipped", message=why)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_json(recorder: Recorder, path: Path, *, seed: int, target: str) -> None:
    data = {
        "target": target,
        "seed": seed,
        "passed": not recorder.findings and not recorder.uncovered,
        **recorder.to_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def shorten(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """A failed test shows which checks failed where; the blocks in "contract violations" show the rest."""
    violations = _violations(call.excinfo.value) if call.excinfo is not None else []
    if violations and report.failed and item.config.option.verbose <= 0:
        report.longrepr = _Short(", ".join(violations))


def _violations(error: BaseException) -> list[str]:
    """The contract violations a test raised (Hypothesis groups distinct ones); [] if anything else failed.

    Schemathesis's own failure group stays as raised: Hypothesis stops on it sooner.
    """
    if isinstance(error, Violation):
        return [str(error)]
    if isinstance(error, FailureGroup):
        return [f"{failure.operation} :: {check_name(failure)}" for failure in error.exceptions]
    if isinstance(error, BaseExceptionGroup):
        found = [_violations(inner) for inner in error.exceptions]
        return [violation for group in found for violation in group] if all(found) else []
    return []


class _Crash:
    def __init__(self, message: str) -> None:
        self.message = message


class _Short(TerminalRepr):
    """A failed test's report without the traceback: the block under "contract violations" says it all."""

    def __init__(self, checks: str) -> None:
        self.reprcrash = _Crash(f"{checks} (see contract violations; -v for where it was raised)")

    def toterminal(self, tw: TerminalWriter) -> None:
        tw.line(self.reprcrash.message)

    def __str__(self) -> str:
        return self.reprcrash.message
