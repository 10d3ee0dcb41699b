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


def _plan(venv: Path, *argv: str) -> str:
    """What ``make`` would run for ``argv`` with ``.venv`` at ``venv`` (``make -n``: nothing runs)."""
    return _make("-n", f"VENV={venv}", *argv)


def _installs(plan: str) -> list[str]:
    return re.findall(r"pip install --quiet -e (\S+)", plan)


def test_serve_installs_only_the_package_and_test_upgrades_the_same_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    fresh = _plan(venv, "serve")
    assert f"-m venv {venv}" in fresh, "a fresh clone's make serve creates .venv"
    assert _installs(fresh) == ["."], "serving needs the package without extras (no playwright, mypy, ruff...)"
    assert _installs(_plan(venv, "serve", "ARGS=--proxy https://staging.example.com")) == ["'.[contract]'"]

    (venv / "bin").mkdir(parents=True)  # as make serve leaves it
    (venv / "bin" / "python").touch()
    (venv / ".installed-runtime").touch()
    assert _installs(_plan(venv, "serve")) == [], "served once, nothing more to install"
    after_serve = _plan(venv, "test")
    assert "-m venv" not in after_serve, "make test upgrades the .venv make serve made"
    assert _installs(after_serve) == ["'.[dev]'"]
    assert f"{venv}/bin/python -m pytest" in after_serve

    (venv / ".installed").touch()  # as make test leaves it (it touches every stamp)
    (venv / ".installed-contract").touch()
    for target in ("serve", "test", "contract"):
        assert _installs(_plan(venv, target)) == [], target
