"""What a run saw: per operation, cases sent, statuses, answers each check judged, failures, checks not run,
and what the answers carried that the document does not name (warnings, not failures).

Written as blocks and tables on the terminal, a JUnit XML file whose test names say
the operation and the check, and a JSON report.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["Finding", "Recorder", "Violation"]


@dataclasses.dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    title: str
    details: str  # the block's body: expected, got, request, curl (see Answer.describe)
    request: dict[str, Any] | None = None  # the request as sent, secrets out (contract_tests.sent): for replay

    def block(self, replay: str) -> list[str]:
        return [
            f"FAILED {self.operation} :: {self.check}",
            self.details.rstrip(),
            f"  replay:   {replay}",
        ]


class Violation(AssertionError):
    """A test failed on the target's answers; the findings say which check on which operation."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__(", ".join(f"{f.operation} :: {f.check}" for f in findings))

    def __reduce__(self) -> tuple[type[Violation], tuple[list[Finding]]]:
        return (Violation, (self.findings,))


@dataclasses.dataclass
class _Operation:
    cases: int = 0
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    checks: Counter[str] = dataclasses.field(default_factory=Counter)  # answers each check judged
    # The requests sent, as a sum of their digests: the same for two runs that sent the same requests,
    # in any order and over any number of workers.
    fingerprint: int = 0


FINGERPRINT_MODULUS = 2**128
_FACT_KEY = ("operation", "kind", "status", "where", "path", "name", "value", "mediaType")
_FACT_TIMES = ("firstSeen", "lastSeen")


_UNSTABLE_HEADERS = frozenset({"x-schemathesis-testcaseid"})  # another id each run, whatever the seed


def request_digest(method: str, url: str, body: bytes | str | None, headers: Mapping[str, str] | None = None) -> int:
    """A request's fingerprint: method, URL, headers (lower-case names) and body; a GET differs by its headers."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    head = "".join(
        f"{name}: {value}\n" for name, value in sorted((headers or {}).items()) if name not in _UNSTABLE_HEADERS
    )
    return int.from_bytes(
        hashlib.sha256(f"{method} {url}\n{head}\n".encode("utf-8", "surrogatepass") + data).digest()[:16], "big"
    )


class Recorder:
    def __init__(self) -> None:
        self.operations: dict[str, _Operation] = {}
        self.documented: dict[str, list[str]] = {}  # operation -> statuses the document gives it
        self.findings: dict[tuple[str, str], Finding] = {}
        self.not_run: dict[str, str] = {}  # check -> why it could not run
        self.tracking_ids: set[str] = set()
        self.throttling: dict[str, Any] = {
            "answers": 0,
            "waited_seconds": 0.0,
            "lowest_rps": None,
            "final_rps": None,
            "gave_up": None,
            "provider_retries": 0,  # 502s (the payment provider failed) whose request was sent once more
        }
        self.stopped: str | None = None  # the run's budget was spent: what ran
        # What the target's answers carried that the document does not name (billing_contract.drift): warnings
        self.undocumented: dict[str, dict[str, Any]] = {}
        self.gate: tuple[str, ...] | None = None  # --require-coverage: the statuses exempted; None: no gate
        self.uncovered: dict[str, list[str]] = {}  # the gate's verdict: per operation, documented statuses not seen

    def _operation(self, operation: str) -> _Operation:
        return self.operations.setdefault(operation, _Operation())

    def sent(self, operation: str, status: int, request: int) -> None:
        """One request of ``operation`` (``request``: its request_digest) answered with ``status``."""
        entry = self._operation(operation)
        entry.cases += 1
        entry.statuses[status] += 1
        entry.fingerprint = (entry.fingerprint + request) % FINGERPRINT_MODULUS

    def ran(self, operation: str, *checks: str) -> None:
        self._operation(operation).checks.update(checks)

    def failed(self, finding: Finding) -> None:
        """One block per operation and check: the shortest example of it."""
        self.ran(finding.operation, finding.check)
        key = (finding.operation, finding.check)
        known = self.findings.get(key)
        if known is None or len(finding.details) < len(known.details):
            self.findings[key] = finding

    def skipped(self, why: str, *checks: str) -> None:
        for check in checks:
            self.not_run.setdefault(check, why)

    def throttled(self, data: dict[str, Any]) -> None:
        """Add one session's throttling: answers and waits add up, the lowest rates and first cause stay."""
        mine = self.throttling
        mine["answers"] += data["answers"]
        mine["waited_seconds"] = round(mine["waited_seconds"] + data["waited_seconds"], 1)
        for key in ("lowest_rps", "final_rps"):
            rates = [rate for rate in (mine[key], data.get(key)) if rate]
            mine[key] = min(rates) if rates else None
        mine["gave_up"] = mine["gave_up"] or data["gave_up"]
        mine["provider_retries"] += data.get("provider_retries", 0)

    def observed(self, drift: dict[str, Any]) -> None:
        """The undocumented facts of a drift report (:meth:`billing_contract.drift.Drift.report`), added up."""
        for operation in drift["operations"]:
            for fact in operation["undocumented"]:
                self._undocumented({**fact, "operation": operation["operation"]})

    def _undocumented(self, fact: dict[str, Any]) -> None:
        key = "|".join(str(fact.get(name, "")) for name in _FACT_KEY)
        known = self.undocumented.get(key)
        if known is None:
            self.undocumented[key] = {name: value for name, value in fact.items() if name not in _FACT_TIMES}
            return
        known["count"] += fact["count"]
        if "types" in known:
            known["types"] = sorted({*known["types"], *fact["types"]})

    # -- coverage and workers (which send their recorders to the controller as plain data)

    def coverage(self, name: str) -> dict[str, int]:
        """Each documented status of ``name`` and how many answers had it (0: not seen)."""
        entry = self._operation(name)
        return {status: entry.statuses[int(status)] for status in self.documented.get(name, [])}

    def require_coverage(self, exempt: tuple[str, ...]) -> dict[str, list[str]]:
        """The coverage gate: per operation, the documented statuses never answered (but those ``exempt``)."""
        self.gate = exempt
        for name, statuses in sorted(self.documented.items()):
            entry = self.operations.get(name, _Operation())
            missing = [status for status in statuses if not entry.statuses[int(status)] and status not in exempt]
            if missing:
                self.uncovered[name] = missing
        return self.uncovered

    def judged(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for entry in self.operations.values():
            total.update(entry.checks)
        return dict(sorted(total.items()))

    def not_run_now(self) -> dict[str, str]:
        return {check: why for check, why in sorted(self.not_run.items()) if check not in self.judged()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "operations": {
                name: {
                    "cases": entry.cases,
                    "statuses": {str(code): count for code, count in sorted(entry.statuses.items())},
                    "documented_statuses": self.coverage(name),
                    "checks": dict(sorted(entry.checks.items())),
                    "requests_fingerprint": f"{entry.fingerprint:032x}",
                }
                for name, entry in sorted(self.operations.items())
            },
            "checks": self.judged(),
            "not_run": self.not_run_now(),
            "failures": [dataclasses.asdict(finding) for finding in self.findings.values()],
            "coverage_gate": None
            if self.gate is None
            else {"exempt": list(self.gate), "passed": not self.uncovered, "never_answered": self.uncovered},
            "throttling": self.throttling,
            "stopped": self.stopped,
            "undocumented": sorted(self.undocumented.values(), key=lambda fact: (fact["operation"], -fact["count"])),
        }

    def merge(self, data: dict[str, Any]) -> None:
        for name, entry in data["operations"].items():
            mine = self._operation(name)
            mine.cases += entry["cases"]
            mine.statuses.update({int(code): count for code, count in entry["statuses"].items()})
            mine.checks.update(entry["checks"])
            mine.fingerprint = (mine.fingerprint + int(entry["requests_fingerprint"], 16)) % FINGERPRINT_MODULUS
        for finding in data["failures"]:
            self.failed(Finding(**finding))
        for check, why in data["not_run"].items():
            self.skipped(why, check)
        self.throttled(data["throttling"])
        self.stopped = self.stopped or data.get("stopped")
        for fact in data.get("undocumented", []):
            self._undocumented(fact)
