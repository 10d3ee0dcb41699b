"""--require-coverage: a run fails, with its own block, when a documented status was never answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from contract_tests.cli import ERROR, OK, VIOLATIONS, main
from contract_tests.options import UsageError, resolve
from contract_tests.report import Recorder
from tests.faulty_app import create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS
from tests.test_contract_report import serve  # noqa: F401  (the fixture)


@pytest.mark.socket
def test_a_status_never_answered_fails_the_run_and_passes_once_exempted(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The correct deployment honours the contract, but nothing makes it answer 402, 500 or 502 (nor a 400 to a GET).
    base_url = serve(create_faulty_app())
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    files = ["--report", str(report), "--junit-xml", str(junit)]
    assert main(["--base-url", base_url, *TARGET_OPTIONS, "--require-coverage", *files]) == VIOLATIONS
    out = capsys.readouterr().out
    block = out[out.index("contract coverage gate") :]
    assert "FAILED POST /billing :: documented_statuses_answered" in block
    assert "POST /billing never answered 402, 500, 502, which the document gives it (exempt: none)" in block
    assert "--coverage-exempt 400,402,500,502" in block
    assert "violations found (seed" in out
    data = json.loads(report.read_text())
    assert data["passed"] is False and data["failures"] == []
    assert data["coverage_gate"]["never_answered"]["GET /account/organization"] == ["400", "402", "500", "502"]
    failed = [
        case.get("name") for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None
    ]
    assert failed == [
        "GET /account/organization :: documented_statuses_answered",
        "POST /billing :: documented_statuses_answered",
    ]

    exempt = ["--coverage-exempt", "400,402,500,502"]
    assert main(["--base-url", base_url, *TARGET_OPTIONS, "--require-coverage", *exempt, *files]) == OK
    assert "contract coverage gate" not in capsys.readouterr().out
    assert json.loads(report.read_text())["coverage_gate"] == {
        "exempt": ["400", "402", "500", "502"],
        "passed": True,
        "never_answered": {},
    }


def test_without_the_gate_nothing_is_required() -> None:
    recorder = Recorder()
    recorder.documented = {"GET /account/organization": ["200", "401"]}
    recorder.sent("GET /account/organization", 200, 1)
    assert recorder.to_dict()["coverage_gate"] is None
    assert recorder.require_coverage(("500",)) == {"GET /account/organization": ["401"]}
    assert Recorder().require_coverage(()) == {}


def test_an_operation_never_sent_misses_every_status() -> None:
    recorder = Recorder()
    recorder.documented = {"POST /billing": ["200", "402"]}
    assert recorder.require_coverage(("402",)) == {"POST /billing": ["200"]}


@pytest.mark.parametrize("value", ["", "5xx", "500,abc", "99", "600"])
def test_coverage_exempt_takes_statuses(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="--coverage-exempt must be HTTP statuses"):
        resolve({"contract_coverage_exempt": value or ","})
    assert main(["--coverage-exempt", value or ",", "--require-coverage"]) == ERROR


def test_the_environment_sets_the_gate() -> None:
    settings = resolve({}, {"CONTRACT_REQUIRE_COVERAGE": "1", "CONTRACT_COVERAGE_EXEMPT": "500, 502"})
    assert settings.require_coverage and settings.coverage_exempt == ("500", "502")
