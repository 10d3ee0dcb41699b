"""--export-failures DIR: each failure as a plain pytest file that fails on the fault and passes on the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contract_tests.cli import VIOLATIONS, main
from contract_tests.export import export_failures, file_name
from contract_tests.report import Finding, Recorder
from tests.faulty_app import create_faulty_app
from tests.test_contract_faults import TARGET_OPTIONS
from tests.test_contract_replay import SECRETS
from tests.test_contract_report import serve  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent


def _pytest(folder: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``pytest folder`` in a fresh process, outside the project, with only these CONTRACT_* variables."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTRACT_")}
    env.update(variables, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:billing_mock", str(folder)]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.socket
def test_an_exported_failure_fails_on_the_fault_and_passes_on_the_fix(
    serve: Any,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    faulty, fixed = serve(create_faulty_app("wrong_type")), serve(create_faulty_app())
    folder = tmp_path / "regressions"
    assert main(["--base-url", faulty, *TARGET_OPTIONS, "--seed", "5", "--export-failures", str(folder)]) == VIOLATIONS
    assert f"exported 2 failure(s) as regression tests to {folder}" in capsys.readouterr().out
    path = folder / "test_post_billing__response_schema_conformance_1.py"
    text = path.read_text()
    docstring = text.split('"""')[1]
    for said in ("POST /billing :: response_schema_conformance", f"against {faulty}", "seed 5", "pytest test_post"):
        assert said in docstring
    assert "hypothesis" not in text.lower()
    for exported in folder.iterdir():
        assert not [secret for secret in SECRETS if secret in exported.read_text()]

    credentials = {"CONTRACT_API_KEY": "sk_live_alpha", "CONTRACT_OTHER_API_KEY": "sk_live_beta"}
    done = _pytest(folder, **credentials)  # to the run's target, baked in: the fault
    assert done.returncode == 1, done.stdout
    assert "POST /billing :: response_schema_conformance still failing: Response violates schema" in done.stdout
    assert "2 failed" in done.stdout
    done = _pytest(folder, CONTRACT_BASE_URL=fixed, **credentials)
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout


def test_a_failure_found_in_process_is_exported_against_the_mock_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "regressions"
    assert main([*TARGET_OPTIONS, "--export-failures", str(folder)], app=create_faulty_app("server_error")) == 1
    path = folder / "test_post_billing__not_a_server_error_1.py"
    assert "It goes to CONTRACT_BASE_URL, else to the mock, in-process" in path.read_text()
    assert "BASE_URL = None" in path.read_text()
    done = _pytest(folder)  # the mock, which answers that request without a 5xx, with its demo credentials
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_property_across_requests_is_not_exported(tmp_path: Path) -> None:
    recorder = Recorder()
    request = {"method": "GET", "path": "/account/organization", "headers": {}, "credential": "api-key"}
    recorder.failed(Finding("GET /account/organization", "same_organization", "t", "d", request))
    recorder.failed(Finding("GET /account/organization", "status_200", "t", "d", request))
    written, left = export_failures(
        recorder, tmp_path, seed=1, base_url=None, replayable=lambda check: check == "status_200"
    )
    assert [path.name for path in written] == ["test_get_account_organization__status_200_1.py"]
    assert [finding.check for finding in left] == ["same_organization"]


def test_file_names_are_identifiers_whatever_the_path() -> None:
    finding = Finding("GET /orgs/{id}/usage.json", "response-schema", "t", "d")
    assert file_name(finding, 2) == "test_get_orgs_id_usage_json__response_schema_2.py"
