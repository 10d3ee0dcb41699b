"""contract-tests against a deployment: what its answers carry that the document does not name, as warnings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from contract_tests.cli import OK, main
from contract_tests.report import Recorder
from mock_server.cli import main as mock_server
from tests.faulty_app import create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS

ROOT = Path(__file__).resolve().parent.parent


def test_undocumented_fields_are_warnings_in_every_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    argv = [*TARGET_OPTIONS, "--junit-xml", str(junit), "--report", str(report)]
    assert main(argv, app=create_faulty_app(variant="extra_fields")) == OK, "warnings, not failures"
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert data["passed"] and not data["failures"]
    facts = {(fact["operation"], fact["kind"], fact.get("path")): fact for fact in data["undocumented"]}
    region = facts[("GET /account/organization", "field", "$.region")]
    assert region["types"] == ["string"] and region["count"] > 1
    assert ("POST /billing", "field", "$.error.docs") in facts
    assert "sk_live_alpha" not in report.read_text()
    section = out[out.index("undocumented (warnings, not failures)") :]
    assert "GET /account/organization: field $.region (string) in 200" in section
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0"
    said = [p.get("value") for p in root.iter("property") if p.get("name") == "undocumented GET /account/organization"]
    assert any(value.startswith("field $.region (string) in 200") for value in said)
    # The report, handed to drift-patch, adds them to a copy of the document.
    shutil.copy(ROOT / "openapi.yaml", tmp_path / "openapi.yaml")
    diff = tmp_path / "drift.diff"
    assert (
        mock_server(["drift-patch", str(report), "--spec", str(tmp_path / "openapi.yaml"), "--output", str(diff)]) == 0
    )
    assert "+        region: {type: string}" in diff.read_text().splitlines()


def test_a_deployment_that_says_only_what_the_document_says_has_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    assert main([*TARGET_OPTIONS, "--report", str(report)], app=create_faulty_app()) == OK
    assert "undocumented (warnings" not in capsys.readouterr().out
    assert json.loads(report.read_text())["undocumented"] == []


def test_workers_add_up_their_warnings() -> None:
    fact = {"kind": "field", "status": "200", "where": "/x", "path": "$.a", "types": ["string"], "example": '"v"'}
    drift = {"operations": [{"operation": "GET /x", "undocumented": [{**fact, "count": 2, "firstSeen": "t"}]}]}
    controller, worker = Recorder(), Recorder()
    controller.observed(drift)
    worker.observed(
        {"operations": [{"operation": "GET /x", "undocumented": [{**fact, "types": ["null"], "count": 3}]}]}
    )
    controller.merge(worker.to_dict())
    (merged,) = controller.to_dict()["undocumented"]
    assert (merged["count"], merged["types"], merged["operation"]) == (5, ["null", "string"], "GET /x")
