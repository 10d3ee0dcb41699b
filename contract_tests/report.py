"""What a run saw: per operation, cases sent, statuses, checks run and failures.

Written as a summary on the terminal, a JUnit XML file whose test names say the
operation and the check, and a JSON report.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

__all__ = ["Finding", "Recorder"]


@dataclasses.dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    details: str


@dataclasses.dataclass
class _Operation:
    cases: int = 0
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    checks: set[str] = dataclasses.field(default_factory=set)


class Recorder:
    def __init__(self) -> None:
        self.operations: dict[str, _Operation] = {}
        self.findings: dict[tuple[str, str, str], Finding] = {}
        self.tracking_ids: set[str] = set()

    def _operation(self, operation: str) -> _Operation:
        return self.operations.setdefault(operation, _Operation())

    def sent(self, operation: str, status: int) -> None:
        entry = self._operation(operation)
        entry.cases += 1
        entry.statuses[status] += 1

    def ran(self, operation: str, *checks: str) -> None:
        self._operation(operation).checks.update(checks)

    def failed(self, finding: Finding) -> None:
        self.ran(finding.operation, finding.check)
        key = (finding.operation, finding.check, finding.title)
        self.findings.setdefault(key, finding)

    # -- workers send their recorders to the controller as plain data

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": {
                name: {
                    "cases": entry.cases,
                    "statuses": {str(code): count for code, count in sorted(entry.statuses.items())},
                    "checks": sorted(entry.checks),
                }
                for name, entry in sorted(self.operations.items())
            },
            "failures": [dataclasses.asdict(finding) for finding in self.findings.values()],
        }

    def merge(self, data: dict[str, Any]) -> None:
        for name, entry in data["operations"].items():
            mine = self._operation(name)
            mine.cases += entry["cases"]
            mine.statuses.update({int(code): count for code, count in entry["statuses"].items()})
            mine.checks.update(entry["checks"])
        for finding in data["failures"]:
            self.failed(Finding(**finding))

    # -- output

    def summary_lines(self) -> list[str]:
        lines = [f"{'operation':<32} {'cases':>6}  {'failures':>8}  statuses"]
        for name, entry in sorted(self.operations.items()):
            failures = sum(1 for finding in self.findings.values() if finding.operation == name)
            statuses = ", ".join(f"{code}x{count}" for code, count in sorted(entry.statuses.items())) or "-"
            lines.append(f"{name:<32} {entry.cases:>6}  {failures:>8}  {statuses}")
        return lines

    def failure_lines(self) -> list[str]:
        lines: list[str] = []
        for finding in self.findings.values():
            lines += [f"FAILED {finding.operation} :: {finding.check}: {finding.title}", finding.details.rstrip(), ""]
        return lines

    def write_junit(self, path: Path, *, seed: int) -> None:
        suite = ET.Element("testsuite", name="contract-tests", tests="0", failures="0")
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="seed", value=str(seed))
        tests = failures = 0
        for name, entry in sorted(self.operations.items()):
            for check in sorted(entry.checks):
                tests += 1
                case = ET.SubElement(suite, "testcase", classname=name, name=f"{name} :: {check}")
                found = [f for f in self.findings.values() if f.operation == name and f.check == check]
                if found:
                    failures += 1
                    failure = ET.SubElement(case, "failure", message="; ".join(f.title for f in found))
                    failure.text = "\n\n".join(f.details for f in found)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)

    def write_json(self, path: Path, *, seed: int, target: str) -> None:
        data = {"target": target, "seed": seed, "passed": not self.findings, **self.to_dict()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
