"""What the suite's own tests assert about answers, beside the oracle: one property per call of :class:`Expect`.

A property that does not hold is recorded as a failure block and the test goes on
(the plugin fails it at its end), so one run reports every property a target breaks,
and Hypothesis never replays a sequence of calls to shrink it.
"""

from __future__ import annotations

from .answer import Answer
from .oracle import Oracle
from .report import Finding, Recorder
from .sent import record
from .target import Target

__all__ = ["NOT_JUDGED", "Expect"]

NOT_JUDGED = 402
"""Payment Required, usage limits exceeded: documented for both operations, an answer a correct deployment may give
any call; a property of a successful call is not judged on it (the oracle still judges its error body)."""


class Expect:
    """Records, per answer, that a test's property held, or the failure when it did not."""

    def __init__(self, target: Target, recorder: Recorder, oracle: Oracle) -> None:
        self.target, self.recorder, self.oracle = target, recorder, oracle

    def __call__(self, ok: bool, answer: Answer, check: str, expected: str) -> bool:
        operation = self.oracle.operation(answer.method, self.target.path(answer.url))
        if ok:
            self.recorder.ran(operation, check)
            return True
        finding = Finding(operation, check, expected, answer.describe(expected), record(answer, self.target))
        self.recorder.failed(finding)
        self.oracle.pending.append(finding)
        return False

    def success(self, answer: Answer, what: str) -> bool:
        """A 200 with a JSON object (True), a 402 (False: nothing to judge), or a failure (False)."""
        if answer.status == NOT_JUDGED:
            return False
        if not self(answer.status == 200, answer, "status_200", f"200 for {what}"):
            return False
        return self(isinstance(answer.json, dict), answer, "json_object", f"a JSON object for {what}")
