"""``--export-failures DIR``: each failure of a run as a plain pytest file to commit as a regression test.

A file holds one recorded request (secrets out, :mod:`contract_tests.sent`) and the check it
failed, and sends the request again as ``contract-tests replay`` does
(:func:`contract_tests.replay.replay_one`): to ``CONTRACT_BASE_URL``, else the run's
``--base-url``, else the mock in-process, with the ``CONTRACT_*`` credentials; the answer is
judged by the suite's oracle (``billing_contract.verdict``). No Hypothesis: the file fails
while the fault is there and passes once it is fixed. A failure that only several requests
show (one organization all run long, tenant isolation) is not exported; the run's seed
replays it.
"""

from __future__ import annotations

import pprint
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .options import redact_url
from .report import Finding, Recorder

__all__ = ["export_failures", "file_name"]

_TEMPLATE = '''"""Regression test: {operation} :: {check}.

Exported by contract-tests --export-failures from a run against {target}, seed {seed}
(`contract-tests --seed {seed}` with the same options replays the whole run).

What failed: {title}
{details}

The request is REQUEST below, as it was sent; secrets are not in this file: the credential
({credential}) comes from CONTRACT_API_KEY / CONTRACT_BASIC / CONTRACT_OTHER_API_KEY.
It goes to CONTRACT_BASE_URL, else to {default}. The answer is judged by the
contract suite's oracle (billing_contract.verdict), as `contract-tests replay` judges it.
This test fails while the fault is there and passes once it is fixed.

Run it:
    {run}pytest {name}
"""

from contract_tests.replay import replay_one

OPERATION = {operation_literal}
CHECK = {check!r}
BASE_URL = {base_url!r}  # where the run sent it; CONTRACT_BASE_URL overrides it
REQUEST = {request}


def test_{function}() -> None:
    outcome, said = replay_one(CHECK, REQUEST, base_url=BASE_URL)
    assert outcome == "fixed", f"{{OPERATION}} :: {{CHECK}} {{outcome}}: {{said}}"
'''


def file_name(finding: Finding, number: int) -> str:
    """``test_post_billing__response_schema_conformance_1.py``: the operation and the check."""
    operation, check = (
        re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") for text in (finding.operation, finding.check)
    )
    return f"test_{operation}__{check}_{number}.py"


def _docstring(text: str) -> str:
    """Text safe inside a triple-quoted docstring: printable, backslashes doubled, no closing quotes."""
    printable = "".join(char if char.isprintable() or char == "\n" else "?" for char in text)
    return printable.replace("\\", "\\\\").replace('"""', '\\"""')


def _variables(request: dict[str, Any]) -> str:
    """The variables a deployment's credentials go in, for the slot ``request`` was sent with."""
    slot = str(request.get("credential")).partition(":")[0]
    if slot == "basic":
        return "CONTRACT_BASIC=CLIENT:SECRET"
    if slot == "other-api-key":
        return "CONTRACT_API_KEY=... CONTRACT_OTHER_API_KEY=..."
    return "CONTRACT_API_KEY=..."


def export_failures(
    recorder: Recorder, folder: Path, *, seed: int, base_url: str | None, replayable: Callable[[str], bool]
) -> tuple[list[Path], list[Finding]]:
    """Write each failure ``replayable`` (one answer decides its check) to ``folder``; give the files and the rest."""
    written: list[Path] = []
    left: list[Finding] = []
    numbers: dict[str, int] = {}
    for finding in recorder.findings.values():
        if finding.request is None or not replayable(finding.check):
            left.append(finding)
            continue
        stem = file_name(finding, 1)
        numbers[stem] = numbers.get(stem, 0) + 1
        name = file_name(finding, numbers[stem])
        target = redact_url(base_url) if base_url else "the mock, in-process"
        default = f"{target} (the run's target)" if base_url else "the mock, in-process (its demo credentials)"
        run = f"CONTRACT_BASE_URL={redact_url(base_url)} {_variables(finding.request)} " if base_url else ""
        text = _TEMPLATE.format(
            operation=_docstring(finding.operation),
            operation_literal=repr(finding.operation),
            check=finding.check,
            target=target,
            seed=seed,
            title=_docstring(finding.title),
            details=_docstring(finding.details),
            credential=_docstring(str(finding.request.get("credential"))),
            default=default,
            run=run,
            name=name,
            base_url=base_url,
            request=pprint.pformat(finding.request, width=110, sort_dicts=False),
            function=name.removeprefix("test_").removesuffix(".py"),
        )
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written, left
