"""The CI recipe in docs/contract-tests.md: a workflow that parses, whose every contract-tests command exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_tests import cli, compat_cli, replay

DOC = Path(__file__).resolve().parent.parent / "docs" / "contract-tests.md"


def _workflow() -> dict[str, Any]:
    section = DOC.read_text(encoding="utf-8").split("\n## In CI\n", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "the In CI section has no yaml block"
    return yaml.safe_load(block.group(1))


def _commands() -> list[list[str]]:
    """Every contract-tests command the workflow runs or tells the reader to run, as argv after the program."""
    commands = []
    for step in _workflow()["jobs"]["contract"]["steps"]:
        text = step.get("run", "")
        for line in text.replace("\\\n", " ").splitlines():  # continued lines joined
            line = line.split("#", 1)[0].strip()
            if line.startswith("contract-tests"):
                commands.append(shlex.split(line.replace("${{ github.base_ref }}", "main"))[1:])
    return commands


def _known(parser: Any, argv: list[str]) -> None:
    """Parse ``argv`` as the command would: an unknown flag or a missing argument is a SystemExit(2)."""
    try:
        parser.parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"contract-tests {' '.join(argv)} is refused by its parser (exit {exc.code})")


def test_the_workflow_runs_the_suite_with_the_gate_compat_and_uploads_the_reports() -> None:
    steps = _workflow()["jobs"]["contract"]["steps"]
    checkout = steps[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert any(step.get("uses", "").startswith("actions/upload-artifact@") for step in steps)
    commands = _commands()
    suite = [argv for argv in commands if argv[:1] not in (["compat"], ["replay"])]
    assert suite and "--require-coverage" in suite[0] and "--junit-xml" in suite[0] and "--report" in suite[0]
    assert any(argv[:1] == ["compat"] for argv in commands)
    assert any(argv[:1] == ["replay"] for argv in commands)


def test_every_contract_tests_command_of_the_recipe_is_accepted() -> None:
    parsers = {"compat": compat_cli._parser(), "replay": replay._parser()}
    for argv in _commands():
        if argv[:1] == ["compat"] or argv[:1] == ["replay"]:
            _known(parsers[argv[0]], argv[1:])
        else:
            _known(cli._parser(), argv)
