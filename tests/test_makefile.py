"""The Makefile: `make` lists every target, `make check` lints and type-checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(*argv: str) -> str:
    done = subprocess.run(["make", "--no-print-directory", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _phony_targets() -> list[str]:
    declared = re.findall(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    return [target for line in declared for target in line.split()]


def test_make_alone_lists_every_target_with_a_description() -> None:
    listing = _make()
    assert listing == _make("help")
    described = dict(re.findall(r"^  ([a-z-]+) +(\S.*)$", listing, re.MULTILINE))
    assert set(_phony_targets()) == set(described)
    assert {"serve", "test", "check", "lint", "typecheck", "help"} <= set(described)


def test_make_check_runs_lint_and_typecheck_only() -> None:
    commands = _make("-n", "check")
    lint = "ruff check mock_server contract_tests billing_contract tests"
    for command in (lint, "ruff format --check", "mypy mock_server"):
        assert command in commands
    assert "pytest" not in commands
